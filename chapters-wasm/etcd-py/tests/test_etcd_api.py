"""The etcd port's parsing, in plain Python (no host, no cluster):

    python3 -m unittest discover chapters-wasm/etcd-py/tests
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(HERE, "..", "..", "..", "guest-sdk-py")]

import etcd_api as api  # noqa: E402
import latency  # noqa: E402
from guest_sdk import OpStat, Sample  # noqa: E402

# Shapes captured from etcd 3.4.23's gateway (as in the Rust flow's tests).
STATUS = '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"5","raft_term":"2"},"version":"3.4.23","dbSize":"20480","leader":"10276657743932975437","raftIndex":"9","raftTerm":"2","raftAppliedIndex":"9","dbSizeInUse":"20480"}'
MEMBERS = '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","raft_term":"2"},"members":[{"ID":"10276657743932975437","name":"etcd1","peerURLs":["http://etcd1:2380"],"clientURLs":["http://etcd1:2379"]},{"ID":"1","name":"etcd2","peerURLs":["http://etcd2:2380"],"clientURLs":["http://etcd2:2379"]}]}'


def status(member_id, leader, raft_term):
    return api.Status(member_id, leader, raft_term)


class EtcdApi(unittest.TestCase):
    def test_the_leader_is_named_from_status_and_member_list(self):
        s = api.parse_status(STATUS)
        self.assertEqual(s.member_id, 10276657743932975437)
        self.assertEqual(s.raft_term, 2)
        members = api.parse_members(MEMBERS)
        self.assertEqual(len(members), 2)
        self.assertEqual(api.leader_name(s, members), "etcd1")

    def test_members_agree_only_when_all_answer_and_name_the_same_answering_leader(self):
        self.assertEqual(api.agreed_leader([status(1, 2, 7), status(2, 2, 7), status(3, 2, 7)]), (2, 7))
        self.assertIsNone(api.agreed_leader([status(1, 2, 7), None, status(3, 2, 7)]))
        self.assertIsNone(api.agreed_leader([status(1, 1, 9), status(2, 2, 7), status(3, 2, 7)]))
        self.assertIsNone(api.agreed_leader([status(1, 0, 9), status(2, 0, 9)]))
        self.assertIsNone(api.agreed_leader([status(1, 2, 7), status(3, 2, 7)]))
        self.assertIsNone(api.agreed_leader([]))

    def test_put_bodies_are_base64_as_the_gateway_reads_them(self):
        self.assertEqual(api.b64(b""), "")
        self.assertEqual(api.b64(b"f"), "Zg==")
        self.assertEqual(api.b64(b"foobar"), "Zm9vYmFy")
        self.assertEqual(api.b64(bytes([0xFF, 0xFE])), "//4=")
        self.assertEqual(api.put_body("k", "v"), '{"key":"aw==","value":"dg=="}')

    def test_a_put_commits_only_with_200_a_header_and_no_error(self):
        ok = '{"header":{"cluster_id":"1","member_id":"2","revision":"42","raft_term":"3"}}'
        self.assertEqual(api.parse_put(200, ok), api.Committed(42))
        timed_out = '{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}'
        self.assertEqual(api.parse_put(503, timed_out), api.Refused("etcdserver: request timed out"))
        self.assertEqual(api.parse_put(200, '{"error":"etcdserver: no leader"}'), api.Refused("etcdserver: no leader"))
        self.assertEqual(api.parse_put(502, "Bad Gateway"), api.Refused("Bad Gateway"))

    def test_no_leader_and_bad_bodies_are_values_not_crashes(self):
        s = api.parse_status('{"header":{"member_id":"7"}}')
        self.assertEqual(s.leader, 0)
        self.assertIsNone(api.leader_name(s, []))
        with self.assertRaisesRegex(api.BadAnswer, "not JSON"):
            api.parse_status("<html>")
        with self.assertRaises(api.BadAnswer):
            api.parse_status("{}")
        with self.assertRaises(api.BadAnswer):
            api.parse_status("[1]")
        with self.assertRaises(api.BadAnswer):
            api.parse_members('{"members":[{"name":"x"}]}')


def op(name, count, p99_us):
    return OpStat(name, count, None, p99_us)


class Latency(unittest.TestCase):
    def test_the_p99_is_that_of_successful_operations_only(self):
        s = Sample(1000, 100.0, 0.0, [op("UPDATE", 90, 412_000.0), op("UPDATE-FAILED", 10, 500_000.0), op("READ", 50, 3_000.0)])
        self.assertEqual(latency.ok_p99_ms(s), 412.0)
        self.assertIsNone(latency.ok_p99_ms(Sample(1, 1.0, 0.0, [op("UPDATE-FAILED", 10, 500_000.0)])))
        self.assertIsNone(latency.ok_p99_ms(Sample(1, 1.0, 0.0, [op("UPDATE", 90, None)])))
        self.assertIsNone(latency.ok_p99_ms(Sample(1, 1.0, 0.0, [op("UPDATE", 0, 1_000.0)])))

    def test_the_median_takes_the_middle_figure(self):
        self.assertIsNone(latency.median([]))
        self.assertEqual(latency.median([14.0, 11.0, 12.0]), 12.0)
        self.assertEqual(latency.median([14.0, 10.0]), 12.0)

    def test_near_allows_half_again_or_25_ms(self):
        self.assertTrue(latency.near(12.0, 18.0))
        self.assertTrue(latency.near(12.0, 37.0))
        self.assertFalse(latency.near(12.0, 37.5))
        self.assertTrue(latency.near(100.0, 150.0))
        self.assertFalse(latency.near(100.0, 151.0))
        self.assertTrue(latency.near(12.0, 5.0))
        self.assertEqual(latency.list_ms([11.84, 12.3]), "11.8, 12.3 ms")


class Describe(unittest.TestCase):
    def test_the_flow_describes_itself_without_a_host(self):
        import app

        info = app.EtcdDemo().describe()
        titles = [c.title for c in info.record.chapters]
        self.assertEqual(titles[:7], ["Intro", "Cluster health", "Workload baseline", "Lose a follower", "Lose the leader", "Lose quorum", "Recovery"])
        self.assertEqual(len(info.actions), len(titles))
        self.assertIsNone(info.actions[0], "the intro only narrates")
        self.assertEqual(info.record.capabilities.memory_mib, app.MEMORY_MIB)
        self.assertEqual(info.record.capabilities.http_probes, [f"http://etcd{i}:2379/v3/" for i in (1, 2, 3)])


if __name__ == "__main__":
    unittest.main()
