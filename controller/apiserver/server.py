"""Assembles and runs the API server: store -> registry -> servicers -> grpc.aio server.

``start_api_server`` is what ``atoll up`` and tests call; it returns once the port is bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from atoll.cidrs import DEFAULT_SERVICE_CIDR, check_service_cidr
from atoll.clock import SystemClock
from atoll.kinds import by_name
from atoll.kinds.service import KIND as SERVICE_KIND
from atoll.kinds.virtualmachinemigration import KIND as MIGRATION_KIND
from atoll.leaderelection import default_identity
from atoll.v1 import namespace_pb2
from controller.apiserver.agent_route import AgentRoutes
from controller.apiserver.auth.config import SecurityConfig
from controller.apiserver.auth.guard import SecurityGuard
from controller.apiserver.auth.setup import build_guard, registry_reader, server_credentials, store_lister
from controller.apiserver.encryption.aesgcm import DecryptionError, Transformer
from controller.apiserver.encryption.config import EncryptionConfig
from controller.apiserver.encryption.store import EncryptingStore
from controller.apiserver.errors import AlreadyExistsError
from controller.apiserver.event_ttl import DEFAULT_EVENT_TTL, EventExpirer
from controller.apiserver.handlers import SERVICE_NAME, add_objects_service, objects_calls
from controller.apiserver.health import SERVING, HealthServicer, follow_store_health
from controller.apiserver.http.charts.settings import ChartSettings
from controller.apiserver.http.server import HttpApi, start_http_api
from controller.apiserver.instrumented_store import InstrumentedStore
from controller.apiserver.logs_proxy import add_logs_service
from controller.apiserver.migration_admission import MigrationAdmission
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.objects_service import ObjectsService
from controller.apiserver.registry import PROTECTED_NAMESPACES, Registry
from controller.apiserver.request_limits import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES
from controller.apiserver.service_ips.allocator import ServiceIPAllocator
from controller.apiserver.service_ips.repair import ServiceIPRepair
from controller.apiserver.service_ips.reserver import ClusterIPReserver
from controller.apiserver.sessions_proxy import add_sessions_service
from controller.apiserver.singletons import run_singletons
from controller.apiserver.version_service import SERVICE_NAME as VERSION_SERVICE_NAME
from controller.apiserver.version_service import add_version_service
from controller.apiserver.watch_cache import WatchCache
from controller.apiserver.watch_stream import WatchStreamer
from controller.store.protocol import Store

log = logging.getLogger(__name__)

LOGS_SERVICE_NAME = "atoll.v1.Logs"
SESSIONS_SERVICE_NAME = "atoll.v1.Sessions"


@dataclass
class ApiServer:
    """A running API server; ``port`` is the bound port (useful with listen port 0)."""

    server: grpc.aio.Server
    port: int
    host: str
    registry: Registry
    cache: WatchCache
    health: HealthServicer

    store: Store
    service_ips: ServiceIPAllocator
    singletons: asyncio.Task[None] | None = None  # compaction and Event expiry, while leading
    service_ip_repair: asyncio.Task[None] | None = None
    store_health: asyncio.Task[None] | None = None
    guard: SecurityGuard | None = None
    agent_routes: AgentRoutes | None = None
    http: HttpApi | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def compact(self, revision: int) -> None:
        """Discards store history before ``revision``; later watches from older revisions get OUT_OF_RANGE."""
        await self.store.compact(revision)
        self.cache.note_compacted(revision)

    async def stop(self, grace: float = 2.0) -> None:
        """Stops taking calls, ends watch streams, waits up to ``grace`` seconds for in-flight calls."""
        self.health.enter_graceful_shutdown()
        tasks = [task for task in (self.singletons, self.service_ip_repair, self.store_health) if task is not None]
        for task in tasks:
            task.cancel()
        if tasks:  # the elector releases its Lease as it ends: let it, before the store goes away with us
            # Bounded: Python 3.11's asyncio.wait_for can lose a cancellation (a loop then runs on).
            await asyncio.wait(tasks, timeout=max(grace, 1.0))
        if self.http is not None:
            await self.http.stop()
        await self.cache.stop()
        await self.server.stop(grace)
        if self.agent_routes is not None:
            await self.agent_routes.close()
        if self.guard is not None:
            await self.guard.close()

    async def compact_periodically(self, interval: float) -> None:
        """Every ``interval`` seconds, compacts to the revision seen one interval ago (as kube-apiserver does),
        so clients always have at least one interval of history to resume watches from."""
        previous = 0
        while True:
            await asyncio.sleep(interval)
            if previous > 1:
                try:
                    await self.compact(previous)
                except Exception:
                    log.exception("compaction to revision %d failed", previous)
            previous = self.cache.revision


DEFAULT_COMPACT_INTERVAL = 300.0


async def start_api_server(
    store: Store,
    listen: str = "127.0.0.1:0",
    *,
    compact_interval: float | None = DEFAULT_COMPACT_INTERVAL,
    event_ttl: float | None = DEFAULT_EVENT_TTL,
    security: SecurityConfig | None = None,
    service_cidr: str = DEFAULT_SERVICE_CIDR,
    encryption: EncryptionConfig | None = None,
    http_listen: str | None = None,
    charts: ChartSettings | None = None,
) -> ApiServer:
    """Binds ``listen`` (HOST:PORT, port 0 = any free port) and serves atoll.v1.Objects on ``store``.

    Plaintext without ``security``; with it, TLS (mutual unless the config says otherwise) only,
    and every Objects call is authenticated, authorized, limited and audited (see auth/).

    With ``encryption``, Secrets are encrypted at rest (encryption/): values not under its first
    key are rewritten before the server starts; RuntimeError names a Secret no listed key opens.

    Compacts store history every ``compact_interval`` seconds and deletes each Event ``event_ttl``
    seconds after its last write (None or 0: never); of several servers on one store only the
    holder of a Lease does (singletons.py). Creates the built-in namespaces if missing.
    New Services get cluster IPs from ``service_cidr`` (atoll.cidrs.CidrError when it is not a
    usable range: callers check it first to say so in one line).
    With ``http_listen`` (HOST:PORT), the HTTP/JSON API and web console listen there too (http/),
    TLS with the same certificates when ``security`` is given; the same guarded calls answer both.
    ``charts`` says where the console's charts come from (default: sampled by this server every
    30 s from its store, without scheduler figures).
    Raises OSError-like RuntimeError if a port is taken.
    """
    service_network = check_service_cidr(service_cidr)
    credentials = server_credentials(security) if security else None
    store = InstrumentedStore(store)
    if encryption is not None:
        store = await _encrypting(store, encryption)
    namespaces = NamespaceIndex(store)
    cache = WatchCache(store, namespaces)
    service_ips = ServiceIPAllocator(store, service_network, SystemClock())
    registry = Registry(
        store,
        namespaces,
        recent=cache.latest,
        reservers={
            SERVICE_KIND.name: ClusterIPReserver(service_ips),
            MIGRATION_KIND.name: MigrationAdmission(store),
        },
    )
    await cache.start()
    await service_ips.load()
    await _bootstrap(registry)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
            ("grpc.max_send_message_length", MAX_RESPONSE_BYTES),
            ("grpc.so_reuseport", 0),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 30_000),
            ("grpc.http2.max_ping_strikes", 0),
            ("grpc.max_concurrent_streams", 100_000),
        ]
    )
    guard = await build_guard(security, store, registry_reader(registry), store_lister(store)) if security else None
    calls = objects_calls(ObjectsService(store, registry, WatchStreamer(store, cache)), guard)
    add_objects_service(server, calls)
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    agent_routes = AgentRoutes(registry, security)
    logs_proxy = add_logs_service(server, agent_routes, guard)
    add_sessions_service(server, agent_routes, guard)
    add_version_service(server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, LOGS_SERVICE_NAME, SESSIONS_SERVICE_NAME, VERSION_SERVICE_NAME, health.SERVICE_NAME,
         reflection.SERVICE_NAME),
        server,
    )
    host, _, port_text = listen.rpartition(":")
    try:
        port = server.add_secure_port(listen, credentials) if credentials else server.add_insecure_port(listen)
    except RuntimeError as exc:
        await _abandon(cache, guard)
        raise RuntimeError(f"cannot listen on {listen}: {exc}") from None
    if port == 0 and port_text != "0":
        await _abandon(cache, guard)
        raise RuntimeError(f"cannot listen on {listen}: address in use or not available")
    http = None
    if http_listen is not None:
        try:
            http = await start_http_api(
                calls, guard, logs_proxy, http_listen, security, (charts or ChartSettings()).build(guard, store)
            )
        except RuntimeError:
            await _abandon(cache, guard)
            raise
    await server.start()
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, SERVING)
    api = ApiServer(
        server,
        port,
        host or "127.0.0.1",
        registry,
        cache,
        health_servicer,
        store,
        service_ips,
        guard=guard,
        agent_routes=agent_routes,
        http=http,
    )
    loops: list[Callable[[], Awaitable[None]]] = []
    if compact_interval:
        loops.append(functools.partial(api.compact_periodically, compact_interval))
    if event_ttl:
        loops.append(lambda: EventExpirer(store, cache, event_ttl).run())  # fresh schedule each term
    if loops:
        api.singletons = asyncio.create_task(run_singletons(registry, loops, default_identity()), name="singletons")
    health_loop = follow_store_health(store, health_servicer, ("", SERVICE_NAME), seen_revision=lambda: cache.revision)
    api.store_health = asyncio.create_task(health_loop, name="store-health")
    repair = ServiceIPRepair(store, cache, service_ips, SystemClock())
    api.service_ip_repair = asyncio.create_task(repair.run(), name="service-ip-repair")
    return api


async def _encrypting(store: Store, encryption: EncryptionConfig) -> Store:
    encrypting = EncryptingStore(store, Transformer(encryption), (by_name("Secret").prefix(),))
    try:
        await encrypting.reencrypt()
    except DecryptionError as exc:
        raise RuntimeError(f"encryption at rest: {exc}") from None
    return encrypting


async def _abandon(cache: WatchCache, guard: SecurityGuard | None) -> None:
    await cache.stop()
    if guard is not None:
        await guard.close()


async def _bootstrap(registry: Registry) -> None:
    kind = by_name("Namespace")
    for name in sorted(PROTECTED_NAMESPACES):
        namespace = namespace_pb2.Namespace()
        namespace.metadata.name = name
        namespace.status.phase = "Active"
        with contextlib.suppress(AlreadyExistsError):
            await registry.create(kind.wrap(namespace))
