"""The SDK in plain Python, the host played by replacing `guest_sdk._wit`'s
functions:

    python3 -m unittest discover guest-sdk-py/tests
"""

import os
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from guest_sdk import (  # noqa: E402
    Chapter,
    ClusterError,
    Failed,
    FaultAction,
    Flow,
    FlowInfo,
    Interrupted,
    Markup,
    NewSamples,
    Node,
    NodeState,
    Health,
    ProbeError,
    ShapeSpec,
    Status,
    Target,
    WorkloadError,
    _wit,
    context,
    markup,
    narration,
    recipes,
    require,
    say,
    timing,
    workload,
)
from guest_sdk._runtime import Runtime  # noqa: E402


class Show(Flow):
    def __init__(self):
        self.ran = []

    def kill(self):
        self.ran.append("kill")

    def skipped(self):
        self.ran.append("skipped")
        raise Interrupted()

    def broken(self):
        self.ran.append("broken")
        raise Failed(f"{len(self.ran) - 1} chapters ran before this one")

    def buggy(self):
        return {}["missing"]

    def describe(self):
        return (
            FlowInfo("show", "1.2.3")
            .description("A show for the tests.")
            .chapter(Chapter("Intro").narration("Hello").key_hint("SPACE begin").notes("Say [bold]hello[/]."))
            .chapter(Chapter("Kill").blocks_advance().action(self.kill))
            .chapter(Chapter("Skipped", action=self.skipped))
            .chapter(Chapter("Broken").auto_advance().action(self.broken))
            .chapter(Chapter("Buggy").action(self.buggy))
            .grant_faults("db*", [FaultAction.KILL, FaultAction.PAUSE])
            .grant_faults("db*", [FaultAction.NETWORK, FaultAction.SHAPE])
            .peers(["db*"])
            .peers("cache")
            .reads_workload()
            .http_probe("http://db1:2379/")
            .default_workload("service:load")
            .memory_mib(48)
        )


class Describe(unittest.TestCase):
    def test_describe_gives_the_host_the_record_as_built(self):
        info = Runtime(Show).describe()
        self.assertEqual((info.name, info.version), ("show", "1.2.3"))
        self.assertEqual(info.description, "A show for the tests.")
        self.assertEqual([c.title for c in info.chapters], ["Intro", "Kill", "Skipped", "Broken", "Buggy"])
        self.assertEqual(info.chapters[0].narration, "Hello")
        self.assertEqual(info.chapters[0].key_hint, "SPACE begin")
        self.assertEqual(info.chapters[0].notes, "Say [bold]hello[/].")
        self.assertEqual(info.chapters[1].notes, "")
        self.assertTrue(info.chapters[1].blocks_advance and not info.chapters[1].auto_advance)
        self.assertTrue(info.chapters[3].auto_advance and not info.chapters[3].blocks_advance)
        faults = info.capabilities.faults
        self.assertEqual(len(faults), 2)
        self.assertEqual(faults[0].services, "db*")
        self.assertEqual(faults[0].actions, [FaultAction.KILL, FaultAction.PAUSE])
        self.assertEqual(faults[0].peers, [], "peers belong to the grant just before them")
        self.assertEqual(faults[1].peers, ["db*", "cache"])
        self.assertTrue(info.capabilities.reads_workload)
        self.assertEqual(info.capabilities.http_probes, ["http://db1:2379/"])
        self.assertEqual(info.capabilities.memory_mib, 48)
        self.assertEqual(info.default_workload, "service:load")

    def test_a_flow_states_no_memory_need_unless_it_says_so(self):
        self.assertEqual(FlowInfo("a", "1").record.capabilities.memory_mib, 0)
        with self.assertRaises(ValueError):
            FlowInfo("a", "1").memory_mib(-1)

    def test_peers_without_a_grant_is_a_mistake_caught_at_describe(self):
        with self.assertRaisesRegex(ValueError, "needs a grant_faults before it"):
            FlowInfo("show", "1").peers(["db*"])

    def test_wrong_builder_arguments_are_refused_early(self):
        with self.assertRaises(TypeError):
            FlowInfo("a", "1").grant_faults("db*", ["kill"])
        with self.assertRaises(TypeError):
            Chapter("x").action("not callable")


class Enter(unittest.TestCase):
    def test_enter_runs_the_action_of_that_chapter_on_the_one_flow_value(self):
        runtime = Runtime(Show)
        runtime.describe()
        self.assertIsNone(runtime.enter(0), "a chapter without action")
        self.assertIsNone(runtime.enter(1))
        self.assertIsNone(runtime.enter(2), "an interruption ends it cleanly")
        self.assertEqual(runtime.enter(3), "2 chapters ran before this one")
        self.assertEqual(runtime.flow.ran, ["kill", "skipped", "broken"])

    def test_a_bug_in_an_action_is_a_chapter_error_not_a_crash(self):
        runtime = Runtime(Show)
        with mock.patch.object(_wit, "log") as logged:
            self.assertEqual(runtime.enter(4), "the flow raised KeyError: 'missing'")
        self.assertIn("Traceback", logged.call_args.args[1])

    def test_enter_without_describe_still_finds_the_chapters(self):
        runtime = Runtime(Show)
        self.assertEqual(runtime.enter(3), "0 chapters ran before this one")

    def test_entering_a_chapter_the_flow_does_not_have_is_an_error(self):
        runtime = Runtime(Show)
        runtime.describe()
        self.assertEqual(runtime.enter(5), "no chapter 5: the flow has 5 chapters")


class Errors(unittest.TestCase):
    def test_api_errors_carry_the_audience_sentence(self):
        self.assertEqual(ClusterError("not-found", "etcd9").message, "not found: etcd9")
        self.assertEqual(
            ClusterError("invalid", "loss-pct: 120 is above 100").message,
            "invalid request: loss-pct: 120 is above 100",
        )
        self.assertEqual(
            ClusterError("unsupported", "no sch_netem").message,
            "not supported on this Docker host: no sch_netem",
        )
        self.assertEqual(ClusterError("timeout").message, "timed out")
        self.assertEqual(WorkloadError("timeout").message, "timed out waiting for the workload")
        self.assertEqual(ProbeError("unreachable", "connection refused").message, "unreachable: connection refused")
        self.assertEqual(Failed("no leader").message, "no leader")
        self.assertNotIsInstance(Interrupted(), Failed)

    def test_generated_variant_cases_become_the_sdk_errors(self):
        # Named as componentize-py names a variant's cases.
        class ClusterError_DockerUnavailable:
            def __init__(self, value):
                self.value = value

        class WorkloadError_Interrupted:
            pass

        class ProbeError_NotPermitted:
            def __init__(self, value):
                self.value = value

        e = _wit._error("cluster", ClusterError_DockerUnavailable("no socket"))
        self.assertIsInstance(e, ClusterError)
        self.assertEqual((e.kind, e.detail), ("docker-unavailable", "no socket"))
        self.assertIsInstance(_wit._error("workload", WorkloadError_Interrupted()), Interrupted)
        e = _wit._error("probe", ProbeError_NotPermitted("http://x/"))
        self.assertEqual((e.kind, e.message), ("not-permitted", "probe not permitted: http://x/"))

    def test_context_prefixes_failures_and_leaves_interruptions_alone(self):
        with self.assertRaises(Failed) as caught:
            with context("no baseline"):
                raise WorkloadError("timeout")
        self.assertEqual(caught.exception.message, "no baseline: timed out waiting for the workload")
        with self.assertRaises(Interrupted):
            with context("no baseline"):
                raise Interrupted()
        with self.assertRaises(KeyError):
            with context("no baseline"):
                raise KeyError("a bug stays a bug")
        with self.assertRaisesRegex(Failed, "^no follower$"):
            require(None, "no follower")
        self.assertEqual(require(3, "no follower"), 3)


class Calls(unittest.TestCase):
    def test_times_are_seconds_turned_into_clamped_milliseconds(self):
        self.assertEqual(_wit.ms(0.2), 200)
        self.assertEqual(_wit.ms(-1), 0)
        self.assertEqual(_wit.ms(1e12), 2**32 - 1)
        self.assertEqual(_wit.ms(float("nan")), 0)

    def test_waits_cut_short_raise_interrupted(self):
        with mock.patch.object(_wit, "timing_sleep", return_value=False) as sleep:
            with self.assertRaises(Interrupted):
                timing.pause(1.5)
        sleep.assert_called_once_with(1500)
        with mock.patch.object(_wit, "timing_countdown", return_value=True):
            timing.count_down(3, "Killing in")

    def test_outside_a_component_a_host_call_says_what_to_do(self):
        if _wit.IN_HOST:
            self.skipTest("running inside a component")
        with self.assertRaisesRegex(_wit.NotInHost, "build.sh"):
            workload.current()

    def test_a_cancelled_countdown_kills_nothing(self):
        said = []
        with mock.patch.object(_wit, "timing_countdown", return_value=False), mock.patch.object(
            _wit, "narration_append", side_effect=said.append
        ), mock.patch.object(_wit, "cluster_act") as act:
            with self.assertRaises(Interrupted):
                recipes.count_down_then_kill(Target.pattern("db*"), "SIGKILL", 3, "Killing in")
        act.assert_not_called()
        self.assertEqual(said, ["Fault cancelled."])

    def test_count_down_then_kill_narrates_what_docker_reports(self):
        node = Node("db2", "p-db2-1", "abc123", NodeState.RUNNING, Health.NONE)
        exited = Node("db2", "p-db2-1", "abc123", NodeState.EXITED, Health.NONE)
        said = []
        with mock.patch.object(_wit, "timing_countdown", return_value=True), mock.patch.object(
            _wit, "narration_append", side_effect=said.append
        ), mock.patch.object(_wit, "cluster_act", return_value=node) as act, mock.patch.object(
            _wit, "cluster_wait_for", return_value=exited
        ) as wait:
            self.assertEqual(recipes.count_down_then_kill(Target.pattern("db*"), "SIGKILL", 3, "in"), exited)
        act.assert_called_once_with("kill", Target("pattern", "db*"), "SIGKILL")
        wait.assert_called_once_with("abc123", NodeState.EXITED, 10000)
        self.assertEqual(said, ["Killed [red]db2[/].", "Docker reports db2 [red]exited[/]."])

    def test_measure_baseline_narrates_the_measured_figures(self):
        from guest_sdk import OpStat, Sample

        sample = Sample(5000, 1200.0, 0.0, [OpStat("UPDATE", 1200, 900.0, 8_400.0)])
        said = []
        with mock.patch.object(_wit, "workload_wait_for", return_value=sample) as wait, mock.patch.object(
            _wit, "workload_baseline", return_value=1234.4
        ), mock.patch.object(_wit, "narration_append", side_effect=said.append):
            b = workload.measure_baseline(120)
        wait.assert_called_once_with(Status.NORMAL, 120000)
        self.assertEqual((b.ops_per_sec, b.p99_ms), (1234.4, 8.4))
        self.assertEqual(said, ["Measuring…", "Baseline: [bold]1234 ops/s[/], p99 8.4 ms"])
        self.assertEqual(b.percent(617.2), 50.0)


class MarkupTests(unittest.TestCase):
    def test_spans_escape_brackets_in_user_text(self):
        self.assertEqual(markup.red("[x]").as_str(), "[red][[x][/]")
        self.assertEqual(markup.bold("ok").as_str(), "[bold]ok[/]")
        self.assertEqual(markup.escape("a[b").as_str(), "a[[b")
        for tag in ("dim", "green", "yellow", "blue", "cyan"):
            self.assertEqual(getattr(markup, tag)("t").as_str(), f"[{tag}]t[/]")
        with self.assertRaises(ValueError):
            markup.tagged("blink", "x")

    def test_plain_text_of_any_kind_is_escaped_and_markup_is_kept(self):
        error = "refused: [red]boom[/]"
        line = "Failed: " + markup.red("no commit") + f" ({error})."
        self.assertEqual(line.as_str(), "Failed: [red]no commit[/] (refused: [[red]boom[[/]).")
        self.assertEqual((markup.bold("etcd1") + " leads (term " + 7 + ").").as_str(), "[bold]etcd1[/] leads (term 7).")
        self.assertEqual(markup.bold(markup.red("x")).as_str(), "[bold][red]x[/][/]")
        self.assertEqual(Markup.raw("[green]Done.[/]").as_str(), "[green]Done.[/]")
        self.assertEqual(Markup.text("[bold]x[/]").as_str(), "[[bold]x[[/]")
        self.assertEqual(
            Markup.join([markup.bold("etcd1"), "etc[d]2"], ", ").as_str(), "[bold]etcd1[/], etc[[d]2"
        )

    def test_markup_refuses_to_become_a_str_that_would_show_its_tags(self):
        with self.assertRaisesRegex(TypeError, "cannot be formatted into a str"):
            f"Killed {markup.red('db1')}."
        with self.assertRaises(TypeError):
            str(markup.bold("x"))

    def test_format_escapes_everything_but_markup_arguments(self):
        got = markup.format(
            "{} [{}] {:.1f} s: {why} {:>5}|{}", "etcd1", markup.bold("etcd2"), 2.345, 42, markup.red("[!]"), why="[red]x[/]"
        )
        self.assertEqual(got.as_str(), "etcd1 [[[bold]etcd2[/]] 2.3 s: [[red]x[[/]    42|[red][[!][/]")
        said = []
        with mock.patch.object(_wit, "narration_append", side_effect=said.append):
            say("{} leads (term {}).", markup.bold("e[1]"), 3)
            narration.append("plain [text]")
            narration.append(markup.green("up"))
        self.assertEqual(said, ["[bold]e[[1][/] leads (term 3).", "plain [[text]", "[green]up[/]"])

    def test_a_node_state_is_green_when_running_and_red_otherwise(self):
        self.assertEqual(NodeState.RUNNING.styled().as_str(), "[green]running[/]")
        self.assertEqual(NodeState.EXITED.styled().as_str(), "[red]exited[/]")


class FakeClock:
    """A clock that moves only when the flow waits; the presenter moves on
    at wait number `interrupt_at`, if given."""

    def __init__(self, interrupt_at=None):
        self.now = 0.0
        self.waits = 0
        self.interrupt_at = interrupt_at

    def sleep(self, ms):
        self.waits += 1
        self.now += ms / 1000
        return self.waits != self.interrupt_at

    def __enter__(self):
        self._patches = [
            mock.patch.object(_wit, "timing_sleep", side_effect=self.sleep),
            mock.patch("guest_sdk.timing.time.monotonic", side_effect=lambda: self.now),
        ]
        for p in self._patches:
            p.start()
        return self

    def __exit__(self, *exc):
        for p in self._patches:
            p.stop()


class Helpers(unittest.TestCase):
    def test_poll_returns_the_first_value_without_waiting_more(self):
        answers = iter([None, None, "etcd2"])
        with FakeClock() as clock:
            self.assertEqual(timing.poll_until(10, 1, lambda: next(answers)), "etcd2")
        self.assertEqual(clock.waits, 2)

    def test_poll_gives_up_at_the_deadline_after_a_last_look(self):
        asked = []
        with FakeClock() as clock:
            self.assertIsNone(timing.poll_until(2.5, 1, lambda: asked.append(clock.now)))
        self.assertEqual(asked, [0.0, 1.0, 2.0, 2.5])

    def test_an_interrupted_wait_ends_the_poll_as_interrupted(self):
        with FakeClock(interrupt_at=2) as clock:
            with self.assertRaises(Interrupted):
                timing.poll_until(10, 1, lambda: None)
        self.assertEqual(clock.waits, 2)

    def test_only_a_cancelled_countdown_says_fault_cancelled(self):
        said = []
        with mock.patch.object(_wit, "narration_append", side_effect=said.append):
            with mock.patch.object(_wit, "timing_countdown", return_value=False):
                with self.assertRaises(Interrupted):
                    recipes.count_down_to_fault(3, "Slowing in")
            with mock.patch.object(_wit, "timing_countdown", return_value=True):
                recipes.count_down_to_fault(3, "Slowing in")
        self.assertEqual(said, ["Fault cancelled."])

    def scoped(self, body_raises=None, undo_raises=None, apply_raises=None):
        """Runs a scoped fault whose steps record themselves."""
        node = Node("etcd1", "p-etcd1-1", "c0ffee", NodeState.RUNNING, Health.NONE)
        steps, said = [], []

        def apply():
            steps.append("apply")
            if apply_raises:
                raise apply_raises
            return node

        def undo(n):
            self.assertIs(n, node)
            steps.append("undo")
            if undo_raises:
                raise undo_raises

        def undo_after(target, ms):
            steps.append(f"net {ms}")
            return [node]

        with mock.patch.object(_wit, "cluster_undo_after", side_effect=undo_after), mock.patch.object(
            _wit, "narration_append", side_effect=said.append
        ), mock.patch.object(_wit, "log"):
            try:
                with recipes.scoped_fault(apply, 60, undo) as n:
                    self.assertIs(n, node)
                    steps.append("body")
                    if body_raises:
                        raise body_raises
            except BaseException as e:  # noqa: B902 - the test looks at what came out
                return e, steps, said
        return None, steps, said

    def test_a_scoped_fault_is_undone_after_its_block(self):
        error, steps, said = self.scoped()
        self.assertIsNone(error)
        self.assertEqual(steps, ["apply", "net 60000", "body", "undo"])
        self.assertEqual(said, ["[dim](Safety net: the host undoes it in 60 s whatever happens.)[/]"])

    def test_a_failed_or_interrupted_block_still_has_its_fault_undone(self):
        error, steps, _ = self.scoped(body_raises=Failed("no p99"))
        self.assertEqual((type(error), str(error)), (Failed, "no p99"))
        self.assertEqual(steps, ["apply", "net 60000", "body", "undo"])
        error, steps, _ = self.scoped(body_raises=Interrupted())
        self.assertIsInstance(error, Interrupted)
        self.assertEqual(steps, ["apply", "net 60000", "body", "undo"])

    def test_a_fault_that_was_not_applied_is_neither_run_nor_undone(self):
        error, steps, _ = self.scoped(apply_raises=ClusterError("not-permitted", "etcd1"))
        self.assertIsInstance(error, ClusterError)
        self.assertEqual(steps, ["apply"])

    def test_a_failed_undo_is_the_news_and_says_the_host_will_undo_it(self):
        error, _, _ = self.scoped(undo_raises=ClusterError("failed", "gone"))
        self.assertEqual(
            str(error), "could not undo the fault on etcd1 (the host undoes it when the show ends): Docker refused: gone"
        )
        error, _, _ = self.scoped(undo_raises=Interrupted())
        self.assertIsInstance(error, Interrupted)

    def test_the_cursor_yields_each_sample_newer_than_the_last_once(self):
        from guest_sdk import Sample

        latest = iter([5, 5, 6, 6, 6, 9])
        with FakeClock() as clock, mock.patch.object(
            _wit, "workload_current", side_effect=lambda: Sample(next(latest), 1.0, 0.0, [])
        ):
            samples = NewSamples.after(Sample(5, 1.0, 0.0, []))
            self.assertEqual(samples.next().t_ms, 6)
            self.assertEqual(samples.next().t_ms, 9)
        self.assertEqual(clock.waits, 4)

    def test_without_a_start_any_sample_is_new_and_silence_fails_with_a_sentence(self):
        from guest_sdk import Sample

        with FakeClock(), mock.patch.object(_wit, "workload_current", return_value=Sample(1, 1.0, 0.0, [])):
            samples = NewSamples.after(None).timeout(2)
            self.assertEqual(samples.next().t_ms, 1)
            with self.assertRaisesRegex(Failed, "^the workload sent no sample for 2 s$"):
                samples.next()


class Shape(unittest.TestCase):
    def test_a_shape_spec_describes_itself_as_the_rust_sdk_does(self):
        self.assertEqual(ShapeSpec().describe(), "nothing")
        self.assertEqual(
            ShapeSpec(delay_ms=200, jitter_ms=20, loss_pct=5, towards=["etcd2"]).describe(),
            "200 ms ± 20 ms delay, 5% loss towards etcd2",
        )
        self.assertEqual(
            ShapeSpec(
                delay_ms=200,
                jitter_ms=20,
                correlation_pct=25,
                loss_pct=5,
                duplicate_pct=1,
                corrupt_pct=0.5,
                reorder_pct=10,
                rate_kbit=512,
                towards=["etcd2", "etcd3"],
            ).describe(),
            "200 ms ± 20 ms delay, 5% loss, 1% duplication, 0.5% corruption, "
            "10% reordering, 512 kbit/s cap towards etcd2, etcd3",
        )


if __name__ == "__main__":
    unittest.main()
