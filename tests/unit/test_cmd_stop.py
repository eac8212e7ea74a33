"""How the commands end: nothing still running can keep the process alive.

Each case runs in a child Python process, since ending is what is tested.
"""

import subprocess
import sys
import textwrap

import testtools

# A thread that computes forever and is not a daemon: at a normal exit the
# interpreter would wait for it for ever.
_SPINNER = textwrap.dedent('''
    import threading
    from ironic_lite.cmd import common

    def spin():
        while True:
            pass

    threading.Thread(target=spin).start()
''')


class TestEnding(testtools.TestCase):

    def run_child(self, code: str) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([sys.executable, '-c', _SPINNER + code],
                                  capture_output=True, text=True,
                                  timeout=120)
        except subprocess.TimeoutExpired:
            self.fail('the child process did not end')

    def test_exit_now_ends_the_process_while_a_thread_computes(self):
        result = self.run_child('common.exit_now(3)\n')
        self.assertEqual(3, result.returncode, result.stderr)

    def test_a_stop_that_hangs_is_cut_short_with_every_stack(self):
        result = self.run_child(textwrap.dedent('''
            common.STOP_MARGIN = 0
            common.stop_within(0.2)
            threading.Event().wait()  # a stop that never ends
        '''))
        self.assertEqual(1, result.returncode, result.stderr)
        # What would not stop, for the operator to see.
        self.assertIn('in spin', result.stderr)

    def test_run_bounded_gives_up_but_reports_what_ended(self):
        result = self.run_child(textwrap.dedent('''
            import time
            hung = common.run_bounded(threading.Event().wait, 0.1, 'hang')
            done = common.run_bounded(time.time, 30, 'quick')
            failed = common.run_bounded(lambda: 1 / 0, 30, 'broken')
            print(hung, done, failed, flush=True)
            common.exit_now(0)
        '''))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('False True True', result.stdout.strip())
