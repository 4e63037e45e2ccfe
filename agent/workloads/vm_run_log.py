"""The runs one VmRunner makes on its node (atoll/vm_runs.py): which run is current, when it
started and ended, and the records of runs it ended that the stored status does not hold yet.

The agent numbers a run itself only when it boots the guest again on this node (a restart after
the guest ended, by run strategy or a new generation); every other new run comes from the API
server (an unbind) and reaches the agent as a new binding. ``apply`` writes all of it into a
status computed from the stored one, idempotently, so an unconditional status write that is
retried, or lost and redone, never archives a run twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atoll.clock import to_timestamp
from atoll.v1 import virtualmachine_pb2, vm_identity_pb2
from atoll.vm_runs import RUN_ENDED_PHASES, archive_run, run_number

VirtualMachineRun = vm_identity_pb2.VirtualMachineRun


@dataclass
class RunLog:
    number: int
    node: str
    started_at: float = 0.0  # when this run's guest was started (0: not yet)
    ended: VirtualMachineRun | None = None  # this run's final record, once it ended
    unwritten: list[VirtualMachineRun] = field(default_factory=list)  # oldest first

    @classmethod
    def of(cls, vm: virtualmachine_pb2.VirtualMachine, node: str) -> RunLog:
        """The log of the run ``vm``'s stored status names (an agent restart picks it up)."""
        run = vm.status.current_run
        log = cls(run_number(vm), node)
        if run.HasField("start_time"):
            log.started_at = run.start_time.ToNanoseconds() / 1e9
        if run.phase in RUN_ENDED_PHASES:
            log.ended = VirtualMachineRun()
            log.ended.CopyFrom(run)
        return log

    def started(self, at: float) -> None:
        """The run's guest was started at ``at``."""
        self.started_at = at

    def end(self, phase: str, reason: str, message: str, *, at: float, exit_code: int = 0,
            ip: str = "", hypervisor: str = "") -> None:
        """The run ended (``phase`` Stopped or Failed): its final record."""
        run = VirtualMachineRun(number=self.number, node=self.node, phase=phase, reason=reason, message=message,
                                exit_code=exit_code, ip=ip, hypervisor=hypervisor)
        if self.started_at:
            run.start_time.CopyFrom(to_timestamp(self.started_at))
        run.end_time.CopyFrom(to_timestamp(at))
        self.ended = run

    def next(self) -> None:
        """The ended run is archived and the next run, on this node, becomes current."""
        if self.ended is not None:
            self.unwritten.append(self.ended)
        self.number += 1
        self.started_at, self.ended = 0.0, None

    def apply(self, status: virtualmachine_pb2.VirtualMachineStatus) -> None:
        """Make ``status`` (a copy of the stored one, for this run or an earlier one of this
        runner) describe the current run, with the runs ended since archived."""
        if status.current_run.number != self.number:
            for run in self.unwritten:
                archive_run(status, run)
            status.ClearField("current_run")
            status.current_run.number = self.number
        run = status.current_run
        run.node = self.node
        if self.started_at:
            run.start_time.CopyFrom(to_timestamp(self.started_at))
        if self.ended is not None:
            run.end_time.CopyFrom(self.ended.end_time)
            run.exit_code = self.ended.exit_code

    def written(self) -> None:
        """The stored status now holds every archived run."""
        self.unwritten.clear()
