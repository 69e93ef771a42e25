// Handshake refusals -> access log and metrics.
#include "proxy/handshake_log.h"

#include <chrono>

#include "core/clock.h"
#include "core/request_id.h"
#include "proxy/client_identity.h"
#include "proxy/denial_memory.h"

namespace portcullis::proxy {

void log_handshake_refusal(const ConnectionContext& ctx, std::string_view tls_error) {
  const auto& rt = *ctx.runtime;
  AccessRecord record;
  record.ts = core::rfc3339(std::chrono::system_clock::now());
  record.request_id = core::new_request_id();
  record.listener = ctx.listener->config->name;
  record.client_ip = ctx.peer_text;
  record.stage = std::string(core::stage_name(core::Stage::Tls));
  record.status = 0;
  if (ctx.client_cert) {
    record_client_cert(record, *ctx.client_cert);
    const auto code = ctx.client_cert->code.value_or(core::DenialCode::MtlsCertInvalid);
    record.code = std::string(core::spec(code).code);
    record.detail = ctx.client_cert->detail();
    rt.metrics->count_denial(code);
  } else {
    record.code = std::string(core::spec(core::DenialCode::MtlsCertInvalid).code);
  }
  record.detail += record.detail.empty() ? "" : "; ";
  record.detail += "TLS handshake refused: ";
  record.detail += tls_error;
  remember_denial(*rt.metrics, record);
  rt.access_log.write(record);
}

}  // namespace portcullis::proxy
