// AccessRecord -> DenialRecord for the recent-denials ring.
#include "proxy/denial_memory.h"

namespace portcullis::proxy {

void remember_denial(metrics::Registry& metrics, const AccessRecord& r) {
  metrics.recent_denials().record(
      {r.request_id, r.ts, r.listener, r.route, r.status, r.code, r.stage, r.detail});
}

}  // namespace portcullis::proxy
