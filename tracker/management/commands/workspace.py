"""Serve the workspace with its own worker and beat, so no request waits for an import, a run or a report.

With a broker configured (production), workers and beat run apart and this only serves, like runserver. With
none (embedded defaults), the worker, beat and the web server are started as child processes that share a
broker made of files under ``var/broker`` (kombu's filesystem transport): the same tasks, leases and watchdog
as in production, one task at a time. Ctrl-C stops all three.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

EMBEDDED_BROKER_URL = "filesystem://localhost/"


class Command(BaseCommand):
    help = "Serve the admin and API; on embedded defaults also run a Celery worker and beat in the background."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument("--noreload", action="store_true", help="do not restart the server on code changes")

    def handle(self, *args, addrport: str, noreload: bool, **options):
        manage = [sys.executable, os.path.join(settings.BASE_DIR, "manage.py")]
        serve = [*manage, "runserver", addrport, *(["--noreload"] if noreload else [])]
        if settings.BROKER_URL:
            self.stdout.write("A broker is configured: start workers and beat apart (README, Production).")
            call_command("runserver", addrport, use_reloader=not noreload)
            return
        env = {**os.environ, "CELERY_BROKER_URL": EMBEDDED_BROKER_URL}
        celery = [sys.executable, "-m", "celery", "-A", "tracker"]
        children = {
            "worker": subprocess.Popen([*celery, "worker", "--pool=solo", "--loglevel=INFO"], env=env),
            "beat": subprocess.Popen([*celery, "beat", "--loglevel=WARNING"], env=env),
            "server": subprocess.Popen(serve, env=env),
        }
        self.stdout.write(", ".join(f"{name} {child.pid}" for name, child in children.items()) + " running.")
        try:
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            _stop(children.values())
        failed = [name for name, child in children.items() if child.returncode not in (0, -signal.SIGTERM)]
        if failed:
            self.stderr.write(f"Stopped: {', '.join(failed)} exited with an error (see above).")


def _stop(children) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
