"""Running the ``nft`` binary: one transaction from text on stdin, atomically (``nft -f -``).

``argv`` is the command prefix, ``("nft",)`` on a node; tests and the benchmark use
``("ip", "netns", "exec", NS, "nft")`` to program a network namespace they made.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.drivers.proc import run_command
from atoll.user_text import bounded

NFT_TIMEOUT = 30.0  # seconds; a transaction of 10,000 endpoints takes well under one


class NftError(RuntimeError):
    """``nft`` could not be run or refused the transaction; the message is nft's own last line."""


class Nft:
    def __init__(self, argv: Sequence[str] = ("nft",)) -> None:
        self.argv = tuple(argv)

    async def apply(self, transaction: str) -> None:
        """Run ``transaction`` as one netlink batch: all of it takes effect or none (NftError)."""
        await self._run(("-f", "-"), transaction.encode())

    async def list_table(self, family: str, table: str) -> str:
        """``nft list table FAMILY TABLE`` as nft prints it; NftError when the table does not exist."""
        return await self._run(("list", "table", family, table))

    async def _run(self, args: Sequence[str], stdin: bytes | None = None) -> str:
        argv = (*self.argv, *args)
        try:
            done = await run_command(argv, timeout=NFT_TIMEOUT, stdin=stdin)
        except (OSError, TimeoutError) as err:
            raise NftError(f"{argv[0]}: {err}") from None
        if done.returncode != 0:
            raise NftError(f"nft {args[0]}: {bounded(_first_error(done.stderr) or done.error_line)}")
        return done.stdout


def _first_error(stderr: str) -> str:
    """nft's first ``Error:`` line (it follows each with the offending line and carets)."""
    return next((line.strip() for line in stderr.splitlines() if "Error:" in line), "")
