"""The arithmetic of bench/run.py's report: how turns combine, the primed rows' split of the
server CPU, and what the CPU-bound targets need. Synthetic runs, no processes started; run by
`make test` (ctest bench_report)."""

import os
import sys
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py)


def turn(seconds, responses, cpu_user, cpu_sys, connections_per_s=0.0, p50=900, p99=1400):
    """One load-generator JSON object, as portcullis_loadgen prints it."""
    return {"mode": "keepalive", "seconds": seconds, "responses": responses,
            "rps": responses / seconds, "p50_us": p50, "p99_us": p99,
            "connections_per_s": connections_per_s, "handshakes": 0, "reused": 0,
            "reuse_rate": 0.0, "errors": 0, "bad_status": 0, "server_closes": 0,
            "server_cpu_s": cpu_user + cpu_sys, "server_user_s": cpu_user,
            "server_sys_s": cpu_sys}


SPEED = {"ecdsap256_sign_s": 50_000.0, "ecdsap256_verify_s": 20_000.0, "x25519_s": 40_000.0,
         "ecdsa_ceiling_s": 4_000.0}


class CombineTest(unittest.TestCase):
    def test_turns_sum_counts_and_cpu_kinds_and_rate_is_over_the_summed_time(self):
        a = turn(1.0, 50_000, 0.25, 0.70, p99=1000)
        b = turn(1.0, 30_000, 0.15, 0.45, p99=3000)
        c = run.combine([a, b])
        self.assertEqual(c["responses"], 80_000)
        self.assertAlmostEqual(c["rps"], 40_000)
        self.assertAlmostEqual(c["server_user_s"], 0.40)
        self.assertAlmostEqual(c["server_sys_s"], 1.15)
        self.assertAlmostEqual(c["server_cpu_s"], 1.55)
        self.assertEqual(c["p99_us"], 2000)  # the median of the turns' percentiles


class PrimedRowsTest(unittest.TestCase):
    def test_user_and_kernel_per_request_add_up_to_the_cpu_per_request(self):
        ka = turn(2.0, 100_000, 0.5, 1.4)  # 50,000 req/s, 0.95 core
        s = {"ka": ka}
        self.assertAlmostEqual(run.figure(s, "ka_user"), 5.0)
        self.assertAlmostEqual(run.figure(s, "ka_sys"), 14.0)
        self.assertAlmostEqual(run.figure(s, "ka_cpu"), 19.0)
        self.assertAlmostEqual(run.figure(s, "ka_busy"), 0.95)

    def test_per_handshake_split_uses_connections(self):
        hs = turn(2.0, 4_000, 0.8, 0.2, connections_per_s=2_000)  # 4,000 handshakes
        s = {"hs_ecdsa": hs}
        self.assertAlmostEqual(run.figure(s, "hs_user"), 200.0)
        self.assertAlmostEqual(run.figure(s, "hs_sys"), 50.0)
        self.assertAlmostEqual(run.figure(s, "hs_busy"), 0.5)

    def test_a_run_without_the_split_has_no_split_figure(self):
        ka = turn(1.0, 1_000, 0.1, 0.1)
        del ka["server_user_s"], ka["server_sys_s"]
        with self.assertRaises(KeyError):
            run.figure({"ka": ka}, "ka_user")


class BudgetsTest(unittest.TestCase):
    ARGS = types.SimpleNamespace(workers=1)

    def table(self, **portcullis):
        t = {("ka_rps", "nginx"): 40_000.0, ("ka_rps", "haproxy"): 48_000.0,
             ("ka_rps", "caddy"): 12_000.0, ("ka_user", "haproxy"): 7.5,
             ("ka_sys", "haproxy"): 13.5}
        for key, value in portcullis.items():
            t[(key, "portcullis")] = value
        return t

    def test_keep_alive_budget_is_the_cpu_per_request_at_the_target_rate(self):
        t = self.table(ka_busy=0.96, ka_user=5.5, ka_sys=13.0)
        [line] = run.budgets(t, SPEED, self.ARGS)
        # 1.25 x 48,000 = 60,000 req/s on 0.96 core: 16.0 us per request, 3.0 left after 13.0.
        self.assertIn("haproxy, 48,000 req/s", line)
        self.assertIn("60,000 req/s", line)
        self.assertIn("at most 16.0 µs", line)
        self.assertIn("leaves 3.0 µs for user space", line)
        self.assertIn("haproxy used 13.5 µs in the kernel and 7.5 µs in user space", line)

    def test_handshake_budget_subtracts_kernel_and_the_maths_done(self):
        t = self.table(hs_ecdsa=2_000.0, hs_busy=0.98, hs_user=400.0, hs_sys=100.0)
        [line] = run.budgets(t, SPEED, self.ARGS)
        # 70 % of 4,000/s = 2,800 per core-second: 357 us of server CPU each, whatever share of
        # its core the server had. Maths: 20 + 50 + 2 x 25 = 120 us.
        self.assertIn("2,800 handshakes per core-second", line)
        self.assertIn("at most 357 µs", line)
        self.assertIn("of which 120 µs is the maths", line)
        self.assertIn("leave 137 µs for them", line)

    def test_keep_alive_budget_names_the_floor_when_measured(self):
        t = self.table(ka_busy=0.96, ka_user=5.5, ka_sys=13.0)
        t[("ka_user", "floor")] = 0.5
        t[("ka_sys", "floor")] = 11.6
        [line] = run.budgets(t, SPEED, self.ARGS)
        self.assertIn("The floor proxy (bench/floor", line)
        self.assertIn("used 11.6 µs in the kernel and 0.5 µs in user space in the same turns",
                      line)

    def test_no_line_without_the_split(self):
        self.assertEqual(run.budgets(self.table(ka_busy=0.9), SPEED, self.ARGS), [])


class RenderTest(unittest.TestCase):
    """The whole report from one synthetic round: verdicts and the budget section."""

    def server(self, rps, cpu_per_req_us, hs_per_s, user_share, hs_cpu=0.96, client_cpu=0.9):
        ka_cpu = rps * cpu_per_req_us / 1e6
        return {
            "ka": turn(1.0, rps, ka_cpu * user_share, ka_cpu * (1 - user_share)),
            "hs_ecdsa": dict(turn(1.0, hs_per_s, hs_cpu * 0.8, hs_cpu * 0.2,
                                  connections_per_s=hs_per_s), client_cpu_s=client_cpu),
            "hs_rsa": turn(1.0, hs_per_s // 2, 0.5, 0.4, connections_per_s=hs_per_s // 2),
            "resume": dict(turn(1.0, hs_per_s * 2, 0.6, 0.3, connections_per_s=hs_per_s * 2),
                           reuse_rate=1.0),
            "idle_1000": {"hwm_kib": 30_000.0, "per_conn_kib": 12.0},
        }

    def round(self, portcullis):
        return {"portcullis": portcullis,
                "nginx": self.server(44_000, 22.0, 780, 0.3),
                "haproxy": self.server(48_000, 20.5, 750, 0.35),
                "caddy": self.server(14_000, 70.0, 1_400, 0.7),
                "upstream": turn(1.0, 87_000, 0.5, 0.5),
                "floor": {"ka": turn(1.0, 80_000, 0.04, 0.92)},
                "speed": dict(SPEED, ecdsap256_sign_s=50_000.0, rsa2048_sign_s=4_000.0,
                              rsa2048_verify_s=60_000.0, ecdsa_hs_us=250.0, rsa_hs_us=350.0,
                              rsa_ceiling_s=2_800.0)}

    def test_the_ceiling_target_is_per_core_when_the_generator_sets_the_pace(self):
        # 2,000 handshakes/s with 0.6 of the server's core: 3,333 per CPU-second, 83 % of a
        # 4,000/s ceiling, while the throughput is only 50 % of it (the generator's core full).
        rnd = self.round(self.server(60_000, 15.0, 2_000, 0.3, hs_cpu=0.6, client_cpu=0.95))
        args = types.SimpleNamespace(workers=1, duration=5.0, hs_duration=3.0, idle=[1000],
                                     pin_note="pinned", idle_note="", work=run.ROOT)
        text, _, limits = run.render(args, {0: rnd}, {}, ["v"], "now", 1.0)
        self.assertIn("by throughput | 50 % |", limits)
        self.assertIn("| 60 % · 95 % |", limits)
        self.assertIn("ceiling per core | 83 % (target ≥ 70 %: yes) |", limits)
        self.assertIn("met: b. Portcullis full ECDSA handshakes within 70 % of the ceiling", text)

    def test_report_states_verdicts_and_budgets(self):
        rnd = {"portcullis": self.server(52_000, 19.0, 2_000, 0.3),
               "nginx": self.server(44_000, 22.0, 780, 0.3),
               "haproxy": self.server(48_000, 20.5, 750, 0.35),
               "caddy": self.server(14_000, 70.0, 1_400, 0.7),
               "upstream": turn(1.0, 87_000, 0.5, 0.5),
               "floor": {"ka": turn(1.0, 80_000, 0.04, 0.92)},  # 0.5 + 11.5 us per request
               "speed": dict(SPEED, ecdsap256_sign_s=50_000.0, rsa2048_sign_s=4_000.0,
                             rsa2048_verify_s=60_000.0, ecdsa_hs_us=250.0, rsa_hs_us=350.0,
                             rsa_ceiling_s=2_800.0)}
        args = types.SimpleNamespace(workers=1, duration=5.0, hs_duration=3.0, idle=[1000],
                                     pin_note="pinned", idle_note="", work=run.ROOT)
        text, table, limits = run.render(args, {0: rnd}, {}, ["v"], "now", 1.0)
        self.assertIn("**missed**: a. keep-alive req/s", text)  # 52,000 / 48,000 < 1.25
        self.assertIn("met: b. full handshakes/s ECDSA P-256", text)  # 2,000 / 1,400 >= 1.1
        # 2,000 handshakes/s against a 4,000/s ceiling: 50 %; per server CPU-second (0.96 of a
        # core): 2,083/s, 52 %.
        self.assertIn("by throughput | 50 % |", limits)
        self.assertIn("ceiling per core | 52 % (target ≥ 70 %: **no**) |", limits)
        self.assertIn("## What the CPU-bound targets need", text)
        self.assertIn("1.25× the best peer (haproxy, 48,000 req/s)", text)
        self.assertIn("a'. … of which kernel (µs) | 13.3 |", table)  # 19.0 x 0.7
        self.assertIn("kernel + user space (µs) | 80,000 · 11.5 + 0.50 |", limits)
        self.assertIn("round 1 floor proxy: ka 80000/s", text)


if __name__ == "__main__":
    unittest.main()
