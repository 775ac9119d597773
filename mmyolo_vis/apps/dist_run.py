"""The launcher behind ``tools/dist_run.sh``: torchrun's own ``run`` (torch.distributed.run), with its
failures said in one line instead of the elastic agent's traceback.

    python -m mmyolo_vis.apps.dist_run [torchrun options] SCRIPT [ARGS...]

The ranks' stderr is the terminal's (their progress bars and their one-line errors show as they come).
A run whose ranks all failed with their own message (exit code 1 or 2) ends with those messages and the
ranks' exit code; a rank that died otherwise (a signal, an unexpected exit code) gets one line; a port in
use gets one line naming PORT; Ctrl-C exits 130.

torchrun's ``main`` is decorated to print ChildFailedError's traceback and failure table: this calls the
undecorated ``run`` with torchrun's own argument parser, which is the documented entry point's sequence.
"""
from __future__ import annotations

import logging
import socket
import sys

EXIT_BAD_INPUT, EXIT_INTERRUPTED = 2, 130


def fail(message: str, code: int) -> int:
    print(f'error: {message}', file=sys.stderr)
    return code


def port_in_use(addr: str, port: int) -> bool:
    """Whether ``addr:port`` has a listener (a socket in TIME_WAIT does not count, as for torch's store)."""
    import errno
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError as e:  # another error (an address not of this machine, ...): torchrun will say it
            return e.errno == errno.EADDRINUSE
    return False


def exit_code_of(failures: dict) -> tuple[int, str | None]:
    """(exit code of the run, a line to say or None) from torchrun's {rank: ProcessFailure}."""
    import signal
    codes = {rank: f.exitcode for rank, f in sorted(failures.items())}
    own = {r: c for r, c in codes.items() if c != -signal.SIGTERM}  # the agent stops the others with SIGTERM
    codes = own or codes
    if all(c in (1, 2, EXIT_INTERRUPTED) for c in codes.values()):  # the ranks said why themselves
        return max(codes.values()), None
    rank, code = next((r, c) for r, c in codes.items() if c not in (1, 2))
    what = f'was killed by signal {-code}' if code < 0 else f'exited with code {code}'
    return 1, f'rank {rank} {what} ({len(codes)} of the processes failed); see its output above'


def main(argv=None) -> int:
    from torch.distributed.run import parse_args, run
    args = parse_args(sys.argv[1:] if argv is None else argv)
    for name in ('torch.distributed.run', 'torch.distributed.elastic', 'torch.distributed.launcher'):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # the agent's INFO/WARNING/ERROR lines
    if args.node_rank == 0 and args.master_port is not None and port_in_use(args.master_addr, args.master_port):
        return fail(f'PORT {args.master_port} is in use (another run?); set PORT to a free port, e.g. '
                    f'PORT={args.master_port + 1} bash tools/dist_run.sh ...', EXIT_BAD_INPUT)
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    try:
        run(args)
    except ChildFailedError as e:
        code, line = exit_code_of(e.failures)
        return fail(line, code) if line else code
    except (KeyboardInterrupt, SignalException) as e:  # Ctrl-C: the ranks have said 'interrupted' themselves
        import signal
        if isinstance(e, SignalException) and e.sigval != signal.SIGINT:
            return fail(f'stopped by signal {e.sigval.name}', 128 + int(e.sigval))
        return EXIT_INTERRUPTED
    except Exception as e:  # the rendezvous store cannot start (a port taken meanwhile), and the like
        from ..core.errors import first_line
        hint = '; set PORT to a free port' if 'port' in str(e).lower() or 'address' in str(e).lower() else ''
        return fail(f'cannot start the processes ({first_line(e)}){hint}', 1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
