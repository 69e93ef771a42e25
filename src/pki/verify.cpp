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
// - Security level 2 and, with CRLs, CRL_CHECK | CRL_CHECK_ALL. AWS-LC has no security levels,
//   so level 2 is checked here, with OpenSSL's error codes and order (see check_leaf_level and
//   check_chain_level). AWS-LC's X509_V_FLAG_X509_STRICT is 0: its strict checks are always on.
// - AWS-LC's path builder says "issuer not found" where OpenSSL 3 named the failure (a chain cut
//   at the depth limit, an issuer that is not a CA, a self-signed leaf): after a failure,
//   finish_chain_as_openssl3 restores OpenSSL 3's reports, which the codes and hints explain.
#include "pki/verify.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj.h>
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

/// Records one error once per (error, depth). False when the state is full.
bool record(CallbackState& state, int error, int depth, X509* cert, X509_CRL* crl) {
  for (std::size_t i = 0; i < state.count; ++i) {
    if (state.errors[i].error == error && state.errors[i].depth == depth) return true;
  }
  if (state.count == state.errors.size()) {
    state.overflow = true;
    return false;
  }
  Recorded& r = state.errors[state.count++];
  r.depth = depth;
  r.error = error;
  if (cert != nullptr && X509_up_ref(cert) == 1) r.cert.reset(cert);
  if (crl != nullptr && X509_CRL_up_ref(crl) == 1) r.crl.reset(crl);
  return true;
}

int record_error(int ok, X509_STORE_CTX* ctx) {
  if (ok == 1) return 1;
  auto* state = static_cast<CallbackState*>(X509_STORE_CTX_get_app_data(ctx));
  if (state == nullptr) return 0;
  const int error = X509_STORE_CTX_get_error(ctx);
  if (!record(*state, error, X509_STORE_CTX_get_error_depth(ctx),
              X509_STORE_CTX_get_current_cert(ctx), X509_STORE_CTX_get0_current_crl(ctx))) {
    return 0;
  }
  // SECURITY: returning 1 lets OpenSSL go on so that every error is recorded. The verdict is
  // Failed as soon as one error was recorded, whatever X509_verify_cert returns.
  return is_internal_error(error) ? 0 : 1;
}

// Security level 2 (112 bits), as OpenSSL's check_key_level and check_sig_level: AWS-LC has no
// security levels, and without this an RSA-1024 or SHA-1 chain would pass.
constexpr int kMinSecurityBits = 112;

/// Whether `cert`'s public key gives at least kMinSecurityBits (OpenSSL's EVP_PKEY_security_bits:
/// RSA >= 2048 bits, EC orders >= 224 bits, Ed25519). An unreadable key is not secure.
bool key_meets_level(X509* cert) {
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return false;
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      return EVP_PKEY_bits(key) >= 2048;
    case EVP_PKEY_EC:
      return EVP_PKEY_bits(key) / 2 >= kMinSecurityBits;  // half the group order's bits
    case EVP_PKEY_ED25519:
      return true;  // 128 bits
    default:
      return false;
  }
}

/// Whether `cert`'s signature gives at least kMinSecurityBits (OpenSSL's X509_get_signature_info:
/// half the digest's bits, SHA-1 and MD5 counted as broken). An unknown algorithm is not secure.
bool signature_meets_level(const X509* cert) {
  const int signature_nid = X509_get_signature_nid(cert);
  // AWS-LC verifies RSASSA-PSS with SHA-256, SHA-384 or SHA-512 only: never below 128 bits.
  if (signature_nid == NID_rsassaPss) return true;
  int digest_nid = NID_undef;
  int key_nid = NID_undef;
  if (OBJ_find_sigid_algs(signature_nid, &digest_nid, &key_nid) == 0) return false;
  if (digest_nid == NID_undef) return key_nid == NID_ED25519;
  if (digest_nid == NID_sha1 || digest_nid == NID_md5 || digest_nid == NID_md5_sha1) return false;
  const EVP_MD* md = EVP_get_digestbynid(digest_nid);
  return md != nullptr && EVP_MD_size(md) * 4 >= kMinSecurityBits;
}

/// OpenSSL checks the leaf's key first, before building the chain.
void check_leaf_level(CallbackState& state, X509* leaf) {
  if (!key_meets_level(leaf)) record(state, X509_V_ERR_EE_KEY_TOO_SMALL, 0, leaf, nullptr);
}

/// Then, on the chain it built (complete or not): every issuer's key, and the signature of every
/// certificate but the top one.
void check_chain_level(CallbackState& state, const std::vector<X509*>& chain) {
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const int depth = static_cast<int>(i);
    if (i > 0 && !key_meets_level(chain[i])) {
      record(state, X509_V_ERR_CA_KEY_TOO_SMALL, depth, chain[i], nullptr);
    }
    if (i + 1 < chain.size() && !signature_meets_level(chain[i])) {
      record(state, X509_V_ERR_CA_MD_TOO_WEAK, depth, chain[i], nullptr);
    }
  }
}

/// X509_verify_cert_error_string(), with OpenSSL's text for the security-level errors AWS-LC
/// never raises (and so has no text for).
std::string verify_error_text(int error) {
  switch (error) {
    case X509_V_ERR_EE_KEY_TOO_SMALL:
      return "EE certificate key too weak";
    case X509_V_ERR_CA_KEY_TOO_SMALL:
      return "CA certificate key too weak";
    case X509_V_ERR_CA_MD_TOO_WEAK:
      return "CA signature digest algorithm too weak";
    default:
      return X509_verify_cert_error_string(error);
  }
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
DenialCode classify(const TrustStore& store, const ChainFacts& facts, int error) {
  if (!is_issuer_not_found(error)) return code_for_verify_error(error);
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

/// Whether `error` is one of the reports about where the chain ends (no issuer, a self-signed
/// top that is not trusted).
bool is_chain_end_error(int error) {
  return is_issuer_not_found(error) || error == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
         error == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN;
}

/// The next certificate of the chain above `top`, as OpenSSL 3 would take it: an issuer from the
/// store, else one of `untrusted`, else (OpenSSL 3 only) a certificate of `untrusted` whose name
/// and key issued `top` but that is not a CA. nullptr when there is none.
X509* next_issuer(const TrustStore& store, const STACK_OF(X509) * untrusted,
                  const std::vector<X509*>& chain, X509* top) {
  const auto in_chain = [&](X509* c) {
    return std::find(chain.begin(), chain.end(), c) != chain.end();
  };
  for (const X509Ptr& ca : store.trusted_cas()) {
    if (!in_chain(ca.get()) && X509_check_issued(ca.get(), top) == X509_V_OK) return ca.get();
  }
  for (std::size_t i = 0; i < sk_X509_num(untrusted); ++i) {
    X509* c = sk_X509_value(untrusted, i);
    if (!in_chain(c) && X509_check_issued(c, top) == X509_V_OK) return c;
  }
  for (std::size_t i = 0; i < sk_X509_num(untrusted); ++i) {
    X509* c = sk_X509_value(untrusted, i);
    if (in_chain(c) || X509_check_ca(c) != 0 ||
        X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(top)) != 0) {
      continue;
    }
    EVP_PKEY* key = X509_get0_pubkey(c);
    if (key != nullptr && X509_verify(top, key) == 1) return c;
  }
  return nullptr;
}

/// After a failed verification: the chain OpenSSL 3 would have built, and what it reported where
/// AWS-LC only says "issuer not found". AWS-LC's path builder (OpenSSL 1.1.0's) skips candidates
/// OpenSSL 3 took and then reported on: it takes no issuer whose keyUsage lacks keyCertSign (a
/// leaf signing another: OpenSSL 3 said INVALID_CA at its depth), calls no such certificate
/// self-signed (a self-signed client certificate: DEPTH_ZERO_SELF_SIGNED_CERT, or
/// SELF_SIGNED_CERT_IN_CHAIN above the leaf), and stops silently at verify_depth (OpenSSL 3 said
/// CERT_CHAIN_TOO_LONG there, besides the missing issuer). The verdicts, evidence and hints read
/// those reports, so the chain is completed here and the chain-end errors rewritten as OpenSSL 3
/// recorded them. SECURITY: only called once the verification failed (an error was recorded); a
/// chain-end error is only dropped when an INVALID_CA recorded here replaces it, so it stays
/// failed.
void finish_chain_as_openssl3(const TrustStore& store, const STACK_OF(X509) * untrusted,
                              const VerifyPolicy& policy, int max_depth, CallbackState& state,
                              std::vector<X509*>& chain) {
  const auto ends_chain = [&](const Recorded& r) {
    return is_chain_end_error(r.error) && r.depth == static_cast<int>(chain.size()) - 1;
  };
  if (chain.empty() ||
      std::none_of(state.errors.begin(), state.errors.begin() + state.count, ends_chain)) {
    return;
  }
  const std::size_t presented_length = chain.size();
  bool invalid_ca = false;
  bool too_long = false;
  bool complete = false;
  for (;;) {
    X509* top = chain.back();
    const bool self_signed = is_self_signed(top, false);
    if (store.is_trusted_ca(top) && (self_signed || policy.allow_partial_chain)) {
      complete = true;
      break;
    }
    // OpenSSL 3 builds at most verify_depth + 2 certificates; an untrusted top there is too long.
    too_long = static_cast<int>(chain.size()) > max_depth + 1;
    if (self_signed || too_long) break;
    X509* issuer = next_issuer(store, untrusted, chain, top);
    if (issuer == nullptr) break;
    chain.push_back(issuer);
    if (X509_check_ca(issuer) == 0) {
      record(state, X509_V_ERR_INVALID_CA, static_cast<int>(chain.size()) - 1, issuer, nullptr);
      invalid_ca = true;
    }
  }
  X509* top = chain.back();
  const bool self_signed = is_self_signed(top, false);
  if (chain.size() == presented_length && !too_long && !self_signed) return;  // as AWS-LC said
  if (complete && !invalid_ca) return;  // never drop the only error

  // Replace AWS-LC's chain-end errors (at the old top) by OpenSSL 3's (at the new one).
  std::size_t kept = 0;
  for (std::size_t i = 0; i < state.count; ++i) {
    if (state.errors[i].depth == static_cast<int>(presented_length) - 1 &&
        is_chain_end_error(state.errors[i].error)) {
      continue;
    }
    if (kept != i) state.errors[kept] = std::move(state.errors[i]);
    ++kept;
  }
  for (std::size_t i = kept; i < state.count; ++i) state.errors[i] = Recorded{};
  state.count = kept;
  if (complete) return;
  const int depth = static_cast<int>(chain.size()) - 1;
  if (too_long) record(state, X509_V_ERR_CERT_CHAIN_TOO_LONG, depth, top, nullptr);
  const int end_error = self_signed ? (depth == 0 ? X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                                                  : X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
                        : store.is_trusted_ca(top) ? X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
                                                   : X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
  record(state, end_error, depth, top, nullptr);
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

DenialCode code_for_verify_error(int x509_error) {
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

  BorrowedStackPtr untrusted(sk_X509_new_null());
  if (!untrusted) return done(internal_failure(leaf, "out of memory"));
  // The client's intermediates first (as sent), then the configured helpers.
  // SECURITY: a helper silently missing could change the verdict: a failed push rejects.
  for (std::size_t i = 1; i < presented.size(); ++i) {
    if (presented[i] != nullptr && sk_X509_push(untrusted.get(), presented[i]) == 0) {
      return done(internal_failure(leaf, "out of memory"));
    }
  }
  for (const X509Ptr& cert : store.intermediates()) {
    if (sk_X509_push(untrusted.get(), cert.get()) == 0) {
      return done(internal_failure(leaf, "out of memory"));
    }
  }

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
  // Level 2 (112 bits): RSA >= 2048, no SHA-1 signatures; what Debian's OpenSSL defaults to.
  check_leaf_level(state, leaf);
  const int rc = X509_verify_cert(ctx.get());

  ChainFacts facts;
  if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get()); chain != nullptr) {
    const std::size_t n = sk_X509_num(chain);
    facts.chain.reserve(n);
    for (std::size_t i = 0; i < n; ++i) facts.chain.push_back(sk_X509_value(chain, i));
  }
  if (facts.chain.empty()) facts.chain.push_back(leaf);
  // The callback lets AWS-LC go on after each error, so rc can be 1 with errors recorded.
  const bool failed = rc != 1 || state.count > 0 || state.overflow;
  if (failed) {
    finish_chain_as_openssl3(store, untrusted.get(), policy, max_depth, state, facts.chain);
  }
  check_chain_level(state, facts.chain);
  // The store holds exactly the CAs of trusted_ca, so the top came from it when it is one of
  // them (same DER).
  facts.top_trusted = store.is_trusted_ca(facts.chain.back());
  facts.top_self_signed = is_self_signed(facts.chain.back(), false);

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
    const DenialCode code = classify(store, facts, r.error);
    X509* cert = r.cert ? r.cert.get()
                 : r.depth >= 0 && static_cast<std::size_t>(r.depth) < facts.chain.size()
                     ? facts.chain[static_cast<std::size_t>(r.depth)]
                     : nullptr;
    candidates.push_back({code, r.depth, r.error, cert, r.crl.get()});
    v.issues.push_back(
        VerifyIssue{r.depth, r.error, code, verify_error_text(r.error), subject_text(cert)});
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
                               : error != X509_V_OK ? verify_error_text(error)
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
  const EVP_MD* const sha256 = EVP_sha256();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), sha256, nullptr) != 1) {
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
