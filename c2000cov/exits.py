"""The exit-code contract of the ``c2000cov`` command, in one place.

======  ==============================================================
0       success
2       bad input, a refused operation or a usage mistake: one line
        naming the file, row or key, the value and what was expected
130     interrupted by SIGINT (Ctrl-C)
143     terminated by SIGTERM
1       an internal error: one line naming the log file that holds the
        traceback
======  ==============================================================

SIGINT and SIGTERM arrive as exceptions in the main thread, so every
``finally`` (staging folders, temporary files) runs before the exit.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from c2000cov.errors import C2000CovError, one_line

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_SIGINT, EXIT_SIGTERM = 0, 1, 2, 130, 143


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` cleans up (staging
    folders, temporary files) before the process exits with :data:`EXIT_SIGTERM`."""


def raise_terminated(signum, frame) -> None:
    """A SIGTERM handler: raise :class:`Terminated`."""
    raise Terminated()


def input_error_line(exc: BaseException) -> str | None:
    """One line for a library error that means bad input (an unreadable file, a full disk,
    a read-only folder), or None when ``exc`` is an internal error."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return one_line(f"{exc.filename}: {exc.strerror or exc}")
    if isinstance(exc, UnicodeDecodeError):
        return (f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                "save it as UTF-8")
    rasterio_errors = sys.modules.get("rasterio.errors")
    if rasterio_errors is not None and isinstance(
            exc, rasterio_errors.RasterioError | rasterio_errors.CRSError):
        return one_line(" ".join(str(exc).split()))
    return None


def write_traceback_log(exc: BaseException) -> str:
    """Write the traceback of an internal error to a log file (``$C2000COV_LOG_DIR`` or
    ``<tmp>/c2000cov-logs``); its path."""
    import datetime as dt
    import os
    import tempfile
    import traceback
    from pathlib import Path

    from c2000cov import __version__

    folder = Path(os.environ.get("C2000COV_LOG_DIR") or Path(tempfile.gettempdir())
                  / "c2000cov-logs")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"c2000cov-{stamp}-{os.getpid()}.log"
    path.write_text(f"c2000cov {__version__}\nargv: {sys.argv}\n\n"
                    + "".join(traceback.format_exception(exc)), encoding="utf-8")
    return str(path)


def _usage_line(exc) -> str:
    from typer._click.exceptions import NoArgsIsHelpError

    if isinstance(exc, NoArgsIsHelpError):
        return "no command given; run `c2000cov --help` for the commands"
    hint = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
    return " ".join(exc.format_message().split()) + hint


def run_app(app, console, before: Callable[[], None] | None = None,
            prog_name: str = "c2000cov") -> None:
    """Run a typer ``app`` and exit with the contract's status (never returns).

    ``console`` (a rich Console on stderr) prints the one line; ``before`` runs
    after ``--version`` is answered and before the command (cache set-up).
    """
    import signal

    from typer import Abort, Exit
    from typer._click.exceptions import ClickException

    def say(message: str) -> None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)

    if len(sys.argv) > 1 and sys.argv[1] == "--version":
        from c2000cov import __version__

        print(f"{prog_name} {__version__}")
        sys.exit(EXIT_OK)
    if before is not None:
        before()
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        code = app(standalone_mode=False, prog_name=prog_name)
    except C2000CovError as exc:
        say(f"error: {exc}")
        sys.exit(EXIT_BAD_INPUT)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:
        say(f"error: {_usage_line(exc)}")
        sys.exit(EXIT_BAD_INPUT)
    except (KeyboardInterrupt, Abort):
        say("interrupted (Ctrl-C)")
        sys.exit(EXIT_SIGINT)
    except Terminated:
        say("terminated (SIGTERM)")
        sys.exit(EXIT_SIGTERM)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one place that turns anything into a line
        line = input_error_line(exc)
        if line is not None:
            say(f"error: {line}")
            sys.exit(EXIT_BAD_INPUT)
        say(f"internal error: {type(exc).__name__}: {one_line(' '.join(str(exc).split()))[:200]};"
            f" the traceback is in {write_traceback_log(exc)}")
        sys.exit(EXIT_INTERNAL)
    if code == EXIT_SIGINT:  # typer turns Ctrl-C into a returned 130
        say("interrupted (Ctrl-C)")
    sys.exit(code if isinstance(code, int) else EXIT_OK)
