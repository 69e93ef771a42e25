// doctor: certificates, bundles and CRLs expiring within the window (or expired), and key files
// (listeners', external authenticators' client keys, the assertion signing key) readable by the
// service account but not by others.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "diag/cert_facts.h"
#include "diag/doctor.h"
#include "pki/cert_files.h"
#include "pki/trust_store.h"

namespace portcullis::diag {
namespace {

struct NamedFile {
  const config::FileRef* file;
  bool crl = false;
};

std::vector<NamedFile> certificate_files(const config::Config& config) {
  std::vector<NamedFile> out;
  for (const auto& l : config.listeners) {
    if (!l.tls) continue;
    out.push_back({&l.tls->cert});
    if (const auto& ca = l.tls->client_auth) {
      if (ca->trusted_ca) out.push_back({&*ca->trusted_ca});
      if (ca->intermediates) out.push_back({&*ca->intermediates});
      if (ca->crl) out.push_back({&*ca->crl, true});
    }
  }
  for (const auto& [name, u] : config.upstreams) {
    if (u.tls && u.tls->ca) out.push_back({&*u.tls->ca});
  }
  for (const auto& [name, a] : config.authenticators) {
    if (a.jwt && a.jwt->jwks.ca) out.push_back({&*a.jwt->jwks.ca});
    if (a.external && a.external->ca) out.push_back({&*a.external->ca});
    if (a.external && a.external->cert) out.push_back({&*a.external->cert});
  }
  return out;
}

std::string days_text(std::chrono::system_clock::duration d) {
  const auto days = std::chrono::duration_cast<std::chrono::hours>(d).count() / 24;
  return std::to_string(days < 0 ? -days : days) + " day(s)";
}

void check_crl_file(const config::FileRef& file, const DoctorOptions& options,
                    DoctorReport& report) {
  auto crls = pki::load_crls(file.path);
  if (!crls) return;  // unreadable: the validation reports it
  for (const auto& crl : *crls) {
    const auto next = pki::asn1_time_point(X509_CRL_get0_nextUpdate(crl.get()));
    if (!next) continue;
    if (*next < options.now) {
      report.findings.push_back(
          {"crl.expired", Severity::Error, origin_text(file.origin),
           file.path + ": the CRL's nextUpdate passed " + days_text(options.now - *next) + " ago",
           "download the CA's current CRL; automate the refresh before nextUpdate"});
    } else if (*next - options.now < options.expiry_window) {
      report.findings.push_back(
          {"crl.expiring", Severity::Warning, origin_text(file.origin),
           file.path + ": the CRL's nextUpdate is in " + days_text(*next - options.now),
           "make sure the CRL refresh runs before then"});
    }
  }
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03o", static_cast<unsigned>(mode & 0777));
  return buf;
}

/// Whether `uid` (with its groups) may read a file with `st`.
bool readable_by(const struct stat& st, uid_t uid, const std::vector<gid_t>& groups) {
  if (uid == 0) return true;
  if (st.st_uid == uid) return (st.st_mode & S_IRUSR) != 0;
  for (const gid_t g : groups) {
    if (st.st_gid == g) return (st.st_mode & S_IRGRP) != 0;
  }
  return (st.st_mode & S_IROTH) != 0;
}

}  // namespace

void check_expiry(const config::Config& config, const DoctorOptions& options,
                  DoctorReport& report) {
  std::set<std::string> seen;
  for (const auto& [file, crl] : certificate_files(config)) {
    if (!seen.insert(file->path).second) continue;
    if (crl) {
      check_crl_file(*file, options, report);
      continue;
    }
    auto certs = pki::load_certificates(file->path);
    if (!certs) continue;  // unreadable: the validation reports it
    report.checked.push_back("expiry of " + file->path);
    for (const auto& cert : *certs) {
      const auto s = pki::summarize(cert.get());
      const std::string what = file->path + ": " + s.subject + " (" + role_of(s) + ") ";
      if (s.valid_until < options.now) {
        report.findings.push_back({"cert.expired", Severity::Error, origin_text(file->origin),
                                   what + validity_phrase(s, options.now),
                                   "renew it and replace it in " + file->path});
      } else if (s.valid_until - options.now < options.expiry_window) {
        report.findings.push_back({"cert.expiring", Severity::Warning, origin_text(file->origin),
                                   what + validity_phrase(s, options.now),
                                   "renew it before " + s.not_after});
      }
    }
  }
}

void check_key_permissions(const config::Config& config, const DoctorOptions& options,
                           DoctorReport& report) {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  std::string account = options.user;
  if (!options.user.empty()) {
    const passwd* pw = ::getpwnam(options.user.c_str());
    if (pw == nullptr) {
      report.findings.push_back({"key.unknown_user", Severity::Error, "--user",
                                 "no such user: " + options.user,
                                 "give the account the gateway runs as"});
      return;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  } else if (const passwd* pw = ::getpwuid(uid)) {
    account = pw->pw_name;
  }
  std::vector<gid_t> groups(64);
  int count = static_cast<int>(groups.size());
  if (!account.empty() && ::getgrouplist(account.c_str(), gid, groups.data(), &count) >= 0) {
    groups.resize(static_cast<size_t>(count));
  } else {
    groups = {gid};
  }
  // Private keys must never be readable by others; htpasswd files hold password hashes (a
  // warning: offline guessing).
  std::vector<std::pair<const config::FileRef*, bool>> secrets;  // file, is a private key
  for (const auto& l : config.listeners) {
    if (l.tls) secrets.emplace_back(&l.tls->key, true);
  }
  for (const auto& [name, a] : config.authenticators) {
    if (a.basic) secrets.emplace_back(&a.basic->htpasswd, false);
    if (a.external && a.external->key) secrets.emplace_back(&*a.external->key, true);
  }
  if (config.assertion_signing.key) secrets.emplace_back(&*config.assertion_signing.key, true);
  std::set<std::string> seen;
  for (const auto& [file, is_key] : secrets) {
    struct stat st {};
    if (!seen.insert(file->path).second || ::stat(file->path.c_str(), &st) != 0) continue;
    report.checked.push_back("permissions of " + file->path + " for " + account);
    if (!readable_by(st, uid, groups)) {
      report.findings.push_back(
          {"key.unreadable", Severity::Error, origin_text(file->origin),
           file->path + " is not readable by " + account + " (the gateway's account)",
           "chown " + account + " " + file->path + " && chmod 600 " + file->path +
               " (or make it group-readable by a group of " + account + ")"});
    }
    if ((st.st_mode & S_IROTH) != 0) {
      report.findings.push_back({is_key ? "key.readable_by_others" : "htpasswd.readable_by_others",
                                 is_key ? Severity::Error : Severity::Warning,
                                 origin_text(file->origin),
                                 file->path + " is readable by every user of this machine (mode " +
                                     mode_text(st.st_mode) + ")",
                                 "chmod o-rwx " + file->path});
    }
  }
}

}  // namespace portcullis::diag
