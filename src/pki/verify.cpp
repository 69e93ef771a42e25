// The verification engine: one X509_STORE_CTX per call over the shared TrustStore, a verify
// callback that records every error per depth instead of stopping, our own checks (EKU, issuer
// DN, a trust anchor presented as a leaf), then one code per failure.
//
// Decisions (see also VerifyPolicy):
// - No X509_V_FLAG_PARTIAL_CHAIN. Chains must end at a self-signed root of trusted_ca, as with
//   nginx, HAProxy and Azure Application Gateway. Partial chains would turn every certificate of
//   the store into an anchor; leaves of trusted_ca are kept out of the store anyway, but a
//   trusted_ca holding only an issuing intermediate is then rejected with a hint naming the root
//   to add, rather than silently trusting a CA whose own validity and revocation are unchecked.
// - max_depth is OpenSSL's verify depth: intermediates only (nginx ssl_verify_depth).
// - X509_V_FLAG_X509_STRICT, security level 2, and with CRLs CRL_CHECK | CRL_CHECK_ALL.
#include "pki/verify.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <utility>

#include "pki/hints.h"

namespace portcullis::pki {
namespace {

using core::DenialCode;

/// Verify depth is an int in OpenSSL; anything beyond this is a configuration error upstream.
constexpr int kMaxVerifyDepth = 100;

/// Recorded errors per verification; beyond this, verification fails anyway.
constexpr std::size_t kMaxRecorded = 24;

/// One error seen by the verify callback. Owns references so the evidence outlives the
/// X509_STORE_CTX internals it came from.
struct Recorded {
  int depth = -1;
  int error = 0;
  X509Ptr cert;
  X509CrlPtr crl;
};

/// Per-verification state reached from the callback. A fixed array: the success path
/// allocates nothing for it and the callback can never throw through OpenSSL's C frames.
struct CallbackState {
  std::array<Recorded, kMaxRecorded> errors;
  std::size_t count = 0;
  bool overflow = false;
};

/// Errors after which OpenSSL's state is not worth continuing with.
bool is_internal_error(int error) {
  return error == X509_V_ERR_OUT_OF_MEM || error == X509_V_ERR_UNSPECIFIED ||
         error == X509_V_ERR_STORE_LOOKUP || error == X509_V_ERR_INVALID_CALL;
}

int record_error(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* state = static_cast<CallbackState*>(X509_STORE_CTX_get_app_data(ctx));
  if (state == nullptr) return 0;
  const int error = X509_STORE_CTX_get_error(ctx);
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  for (std::size_t i = 0; i < state->count; ++i) {
    if (state->errors[i].error == error && state->errors[i].depth == depth) return 1;
  }
  if (state->count == state->errors.size()) {
    state->overflow = true;
    return 0;
  }
  Recorded& r = state->errors[state->count++];
  r.depth = depth;
  r.error = error;
  if (X509* cert = X509_STORE_CTX_get_current_cert(ctx);
      cert != nullptr && X509_up_ref(cert) == 1) {
    r.cert.reset(cert);
  }
  if (X509_CRL* crl = X509_STORE_CTX_get0_current_crl(ctx);
      crl != nullptr && X509_CRL_up_ref(crl) == 1) {
    r.crl.reset(crl);
  }
  // SECURITY: returning 1 lets OpenSSL go on so that every error is recorded. The verdict is
  // Failed as soon as one error was recorded, whatever X509_verify_cert returns.
  return is_internal_error(error) ? 0 : 1;
}

/// The chain built by OpenSSL, as context for the ambiguous errors.
struct ChainFacts {
  std::vector<X509*> chain;  ///< leaf first
  bool top_trusted = false;  ///< the last certificate came from the store
  bool top_self_signed = false;
};

/// Rank of a code when several errors were recorded: lower wins. Problems of trust and
/// structure come first (without a trusted path nothing else matters), then integrity, then
/// status (revocation, validity), then usage.
int rank(DenialCode code) {
  switch (code) {
    case DenialCode::MtlsSelfSigned:
      return 0;
    case DenialCode::MtlsChainTooLong:
      return 1;
    case DenialCode::MtlsIssuerUntrusted:
      return 2;
    case DenialCode::MtlsChainIncomplete:
      return 3;
    case DenialCode::MtlsSignatureInvalid:
      return 4;
    case DenialCode::MtlsCaInvalid:
      return 5;
    case DenialCode::MtlsCertRevoked:
      return 6;
    case DenialCode::MtlsCertExpired:
      return 7;
    case DenialCode::MtlsCertNotYetValid:
      return 8;
    case DenialCode::MtlsPurposeInvalid:
      return 9;
    case DenialCode::MtlsCertInvalid:
      return 10;
    case DenialCode::MtlsIssuerDnMismatch:
      return 11;
    default:
      return 12;
  }
}

bool is_issuer_not_found(int error) {
  return error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
         error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
         error == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

/// code_for_verify_error() refined with the chain: OpenSSL reports "issuer not found" both for
/// a missing intermediate and for a chain that ends where trust is missing.
DenialCode classify(const TrustStore& store, const ChainFacts& facts, int error, int depth) {
  if (!is_issuer_not_found(error)) return code_for_verify_error(error, depth);
  if (facts.chain.empty()) return DenialCode::MtlsChainIncomplete;
  X509* top = facts.chain.back();
  if (facts.top_self_signed) {
    // The last certificate available is a root that is not in the store.
    return facts.chain.size() == 1 ? DenialCode::MtlsSelfSigned : DenialCode::MtlsIssuerUntrusted;
  }
  // An intermediate of trusted_ca whose root is not there: the trust is what is missing.
  if (facts.top_trusted) return DenialCode::MtlsIssuerUntrusted;
  // The missing issuer is a leaf of trusted_ca: present, but never an anchor.
  for (const X509Ptr& leaf : store.trusted_leaves()) {
    if (X509_NAME_cmp(X509_get_subject_name(leaf.get()), X509_get_issuer_name(top)) == 0) {
      return DenialCode::MtlsIssuerUntrusted;
    }
  }
  return DenialCode::MtlsChainIncomplete;
}

std::string_view wanted_eku(const VerifyPolicy& policy) {
  if (!policy.require_client_auth_eku) return {};
  switch (policy.purpose) {
    case VerifyPolicy::Client:
      return "clientAuth";
    case VerifyPolicy::Server:
      return "serverAuth";
    case VerifyPolicy::Any:
      return {};
  }
  return {};
}

struct StackFree {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_free(s); }
};
/// A stack that borrows its certificates (the presented chain and the store's intermediates).
using BorrowedStackPtr = std::unique_ptr<STACK_OF(X509), StackFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

std::string hex_lower(const unsigned char* data, std::size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (std::size_t i = 0; i < len; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

/// A failure decided before or outside OpenSSL (no chain context).
Verdict internal_failure(X509* leaf, std::string reason) {
  Verdict v;
  v.outcome = Verdict::Outcome::Failed;
  v.code = DenialCode::MtlsCertInvalid;
  v.depth = -1;
  v.reason = std::move(reason);
  v.hint = "verification could not run to completion; the certificate is rejected";
  if (leaf != nullptr) v.leaf = summarize(leaf);
  v.issues.push_back(VerifyIssue{-1, 0, DenialCode::MtlsCertInvalid, v.reason, v.leaf.subject});
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

DenialCode code_for_verify_error(int x509_error, int depth) {
  switch (x509_error) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return DenialCode::MtlsSelfSigned;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return DenialCode::MtlsChainIncomplete;  // refined by the engine with the chain it built
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
      return DenialCode::MtlsIssuerUntrusted;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return DenialCode::MtlsCertExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return DenialCode::MtlsCertNotYetValid;
    case X509_V_ERR_INVALID_PURPOSE:
      return DenialCode::MtlsPurposeInvalid;
    case X509_V_ERR_CERT_REVOKED:
      return DenialCode::MtlsCertRevoked;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return DenialCode::MtlsChainTooLong;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return DenialCode::MtlsSignatureInvalid;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_INVALID_NON_CA:
      return DenialCode::MtlsCaInvalid;
    // X509_STRICT findings about CA markings: a CA problem above the leaf, the leaf's own
    // problem at depth 0.
    case X509_V_ERR_CA_BCONS_NOT_CRITICAL:
    case X509_V_ERR_CA_CERT_MISSING_KEY_USAGE:
    case X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA:
    case X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN:
    case X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA:
    case X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER:
      return depth > 0 ? DenialCode::MtlsCaInvalid : DenialCode::MtlsCertInvalid;
    // CRL problems: the revocation status is unknown, which is not "revoked".
    // SECURITY: still a failure, never a pass.
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
    default:
      return DenialCode::MtlsCertInvalid;
  }
}

Verdict verdict_no_certificate(const TrustStore& store) {
  Verdict v;
  v.outcome = Verdict::Outcome::None;
  v.code = DenialCode::MtlsCertMissing;
  v.reason = "no client certificate was presented";
  v.hint = advertised_names_hint(store.client_ca_names());
  return v;
}

Verdict verify_chain(const TrustStore& store, const std::vector<X509*>& presented,
                     const VerifyPolicy& policy) {
  if (presented.empty() || presented.front() == nullptr) return verdict_no_certificate(store);
  X509* const leaf = presented.front();
  ERR_set_mark();
  const auto done = [](Verdict v) {
    ERR_pop_to_mark();
    return v;
  };

  BorrowedStackPtr untrusted(sk_X509_new_reserve(
      nullptr, static_cast<int>(presented.size() + store.intermediates().size())));
  if (!untrusted) return done(internal_failure(leaf, "out of memory"));
  // The client's intermediates first (as sent), then the configured helpers.
  for (std::size_t i = 1; i < presented.size(); ++i) {
    if (presented[i] != nullptr) sk_X509_push(untrusted.get(), presented[i]);
  }
  for (const X509Ptr& cert : store.intermediates()) sk_X509_push(untrusted.get(), cert.get());

  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.store(), leaf, untrusted.get()) != 1) {
    // SECURITY: no context, no verification: reject.
    return done(internal_failure(leaf, "cannot set up verification: " + openssl_errors()));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  unsigned long flags = 0;
  if (policy.x509_strict) flags |= X509_V_FLAG_X509_STRICT;
  // SECURITY: with CRLs configured, every certificate of the chain needs a current CRL from its
  // issuer (as nginx's ssl_crl); a missing or expired CRL fails, explained.
  if (store.has_crls()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (policy.allow_partial_chain) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  } else {
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  }
  const int max_depth = std::clamp(policy.max_depth, 0, kMaxVerifyDepth);
  X509_VERIFY_PARAM_set_depth(param, max_depth);
  // Level 2 (112 bits): RSA >= 2048, no SHA-1 signatures; what Debian's OpenSSL defaults to.
  X509_VERIFY_PARAM_set_auth_level(param, 2);
  const auto now = policy.at.value_or(std::chrono::system_clock::now());
  if (policy.at) {
    X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(*policy.at));
  }
  const std::string_view wanted = wanted_eku(policy);
  if (!wanted.empty() && X509_STORE_CTX_set_purpose(
                             ctx.get(), wanted == "clientAuth" ? X509_PURPOSE_SSL_CLIENT
                                                               : X509_PURPOSE_SSL_SERVER) != 1) {
    // SECURITY: a purpose that cannot be set would silently not be enforced: reject.
    return done(internal_failure(leaf, "cannot set the verification purpose: " + openssl_errors()));
  }

  CallbackState state;
  X509_STORE_CTX_set_app_data(ctx.get(), &state);
  X509_STORE_CTX_set_verify_cb(ctx.get(), record_error);
  const int rc = X509_verify_cert(ctx.get());

  ChainFacts facts;
  if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get()); chain != nullptr) {
    const int n = sk_X509_num(chain);
    facts.chain.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) facts.chain.push_back(sk_X509_value(chain, i));
    if (n > 0) {
      facts.top_trusted = X509_STORE_CTX_get_num_untrusted(ctx.get()) < n;
      facts.top_self_signed = X509_self_signed(facts.chain.back(), 0) == 1;
    }
  }
  if (facts.chain.empty()) facts.chain.push_back(leaf);

  // Our own checks, recorded like OpenSSL's (error 0 = ours).
  struct Own {
    int depth;
    DenialCode code;
    std::string_view reason;
  };
  std::array<Own, 4> own{};
  std::size_t own_count = 0;
  const auto openssl_reported = [&](int error, int depth) {
    for (std::size_t i = 0; i < state.count; ++i) {
      if (state.errors[i].error == error && state.errors[i].depth == depth) return true;
    }
    return false;
  };
  if (state.count == 0 && rc == 1 && facts.chain.size() == 1) {
    // SECURITY: a one-certificate "chain" means the presented certificate is itself an anchor:
    // nothing vouched for it. Trust anchors authenticate what they issue, not themselves.
    own[own_count++] = {0, DenialCode::MtlsCertInvalid,
                        "the presented certificate is itself a trust anchor of trusted_ca"};
  }
  if (facts.top_trusted && facts.chain.size() >= 2 &&
      static_cast<int>(facts.chain.size()) - 2 > max_depth &&
      !openssl_reported(X509_V_ERR_CERT_CHAIN_TOO_LONG, static_cast<int>(facts.chain.size()) - 1)) {
    own[own_count++] = {static_cast<int>(facts.chain.size()) - 1, DenialCode::MtlsChainTooLong,
                        "certificate chain too long"};
  }
  if (!wanted.empty() && (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
      !openssl_reported(X509_V_ERR_INVALID_PURPOSE, 0)) {
    const std::uint32_t xku = X509_get_extended_key_usage(leaf);
    const std::uint32_t bit = wanted == "clientAuth" ? XKU_SSL_CLIENT : XKU_SSL_SERVER;
    if ((xku & bit) == 0) {
      own[own_count++] = {0, DenialCode::MtlsPurposeInvalid,
                          wanted == "clientAuth"
                              ? "EKU must include clientAuth when the extension is present"
                              : "EKU must include serverAuth when the extension is present"};
    }
  }
  if (policy.verify_issuer_dn && !store.is_ca_subject(X509_get_issuer_name(leaf))) {
    own[own_count++] = {0, DenialCode::MtlsIssuerDnMismatch,
                        "issuer DN differs from the subject of every CA in trusted_ca and "
                        "intermediates"};
  }

  // SECURITY: success needs a clean run: OpenSSL said yes, nothing was recorded, no own check
  // failed, and the callback never gave up.
  if (rc == 1 && state.count == 0 && own_count == 0 && !state.overflow) {
    Verdict v;
    v.outcome = Verdict::Outcome::Success;
    v.leaf = summarize(leaf);
    if (policy.evidence_on_success) {
      for (X509* cert : presented) {
        if (cert != nullptr) v.presented.push_back(summarize(cert));
      }
      for (X509* cert : facts.chain) v.chain.push_back(summarize(cert));
    }
    return done(std::move(v));
  }

  // Failed: every error, one code each, then the most specific one decides.
  Verdict v;
  v.outcome = Verdict::Outcome::Failed;
  struct Candidate {
    DenialCode code;
    int depth;
    int error;
    X509* cert;
    X509_CRL* crl;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(state.count + own_count + 1);
  for (std::size_t i = 0; i < state.count; ++i) {
    const Recorded& r = state.errors[i];
    const DenialCode code = classify(store, facts, r.error, r.depth);
    X509* cert = r.cert ? r.cert.get()
                 : r.depth >= 0 && static_cast<std::size_t>(r.depth) < facts.chain.size()
                     ? facts.chain[static_cast<std::size_t>(r.depth)]
                     : nullptr;
    candidates.push_back({code, r.depth, r.error, cert, r.crl.get()});
    v.issues.push_back(VerifyIssue{r.depth, r.error, code, X509_verify_cert_error_string(r.error),
                                   subject_text(cert)});
  }
  for (std::size_t i = 0; i < own_count; ++i) {
    const Own& o = own[i];
    X509* cert = static_cast<std::size_t>(o.depth) < facts.chain.size()
                     ? facts.chain[static_cast<std::size_t>(o.depth)]
                     : leaf;
    candidates.push_back({o.code, o.depth, 0, cert, nullptr});
    v.issues.push_back(VerifyIssue{o.depth, 0, o.code, std::string(o.reason), subject_text(cert)});
  }
  if (candidates.empty() || state.overflow) {
    // SECURITY: OpenSSL failed without telling why (or told too much): still a failure.
    const int error = X509_STORE_CTX_get_error(ctx.get());
    const std::string reason = state.overflow       ? "too many verification errors"
                               : error != X509_V_OK ? X509_verify_cert_error_string(error)
                                                    : "verification failed";
    candidates.push_back({DenialCode::MtlsCertInvalid, -1, error, nullptr, nullptr});
    v.issues.push_back(VerifyIssue{-1, error, DenialCode::MtlsCertInvalid, reason, {}});
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    const Candidate& b = candidates[best];
    if (rank(c.code) < rank(b.code) ||
        (rank(c.code) == rank(b.code) && c.depth >= 0 && (b.depth < 0 || c.depth < b.depth))) {
      best = i;
    }
  }
  const Candidate& decided = candidates[best];
  v.code = decided.code;
  v.depth = decided.depth;
  v.openssl_error = decided.error;
  v.reason = v.issues[best].reason;

  HintInput in;
  in.code = decided.code;
  in.openssl_error = decided.error;
  in.depth = decided.depth;
  in.cert = decided.cert;
  in.leaf = leaf;
  in.chain = facts.chain;
  in.top_trusted = facts.top_trusted;
  in.crl = decided.crl;
  in.reason = v.reason;
  in.wanted_eku = wanted;
  in.max_depth = max_depth;
  in.now = now;
  v.hint = explain_failure(store, in);

  for (X509* cert : presented) {
    if (cert != nullptr) v.presented.push_back(summarize(cert));
  }
  v.leaf = v.presented.front();
  for (X509* cert : facts.chain) v.chain.push_back(summarize(cert));
  return done(std::move(v));
}

std::string chain_cache_key(const std::vector<X509*>& presented) {
  // Fetched once: EVP_sha256() is fetched from the provider again on every use (a method-store
  // lookup under a lock), three times per handshake here.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (sha256 == nullptr || !md || EVP_DigestInit_ex(md.get(), sha256, nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  for (X509* cert : presented) {
    unsigned char fp[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (cert == nullptr || X509_digest(cert, sha256, fp, &len) != 1) {
      // SECURITY: never let two different chains share a key because one could not be hashed.
      ERR_clear_error();
      return {};
    }
    EVP_DigestUpdate(md.get(), fp, len);
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (EVP_DigestFinal_ex(md.get(), out, &out_len) != 1) {
    ERR_clear_error();
    return {};
  }
  return hex_lower(out, out_len);
}

}  // namespace portcullis::pki
