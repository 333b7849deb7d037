"""The CRI v1 gRPC services (RuntimeService, ImageService) over :class:`~.core.Runtime`.

Messages come from the stubs :mod:`~.protos` generates, so they are typed ``Any`` here.
Exec and PortForward answer with a URL of hpalab-streaming, which serves the stream; Attach
and the Stream*/checkpoint calls answer UNIMPLEMENTED (the kubelet falls back to the unary
calls for everything it needs).
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from hpalab import __version__
from hpalab.cluster.runtime import cgroups, images
from hpalab.cluster.runtime.containers import ContainerError
from hpalab.cluster.runtime.core import NotFound, Runtime
from hpalab.cluster.runtime.records import ContainerRecord, SandboxRecord

Msg = Any


def _abort_on_errors(method: Callable[..., Msg]) -> Callable[..., Msg]:
    def wrapper(self: Any, request: Msg, context: grpc.ServicerContext) -> Msg:
        try:
            return method(self, request, context)
        except NotFound as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        except ContainerError as e:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
        except Exception as e:
            traceback.print_exc()
            context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")

    wrapper.__name__ = method.__name__
    return wrapper


def _text(value: str | bytes) -> str:
    # KeyValue.value is `bytes` in the CRI proto (environment values need not be UTF-8).
    return value.decode(errors="surrogateescape") if isinstance(value, bytes) else value


def _matches(labels: dict[str, str], selector: Any) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


class Services:
    """Both CRI services on one object; :func:`serve` registers it for each."""

    def __init__(self, runtime: Runtime, pb: Any) -> None:
        self.rt = runtime
        self.pb = pb

    # -- conversions ------------------------------------------------------------------------

    def _sandbox_meta(self, s: SandboxRecord) -> Msg:
        return self.pb.PodSandboxMetadata(
            name=s.name, uid=s.uid, namespace=s.namespace, attempt=s.attempt
        )

    def _sandbox_state(self, s: SandboxRecord) -> int:
        return int(self.pb.SANDBOX_READY if s.ready else self.pb.SANDBOX_NOTREADY)

    def _container_meta(self, c: ContainerRecord) -> Msg:
        return self.pb.ContainerMetadata(name=c.name, attempt=c.attempt)

    def _container_state(self, c: ContainerRecord) -> Any:
        return self.rt.container_state(c.id)

    def _container_status(self, c: ContainerRecord) -> Msg:
        st = self._container_state(c)
        pb = self.pb
        return pb.ContainerStatus(
            id=c.id,
            metadata=self._container_meta(c),
            state=getattr(pb, st.phase),
            created_at=c.created_at,
            started_at=st.started_at,
            finished_at=st.finished_at,
            exit_code=st.exit_code,
            image=pb.ImageSpec(image=c.image),
            image_ref=c.image_id,
            image_id=c.image_id,
            reason=st.reason,
            message=st.message,
            labels=c.labels,
            annotations=c.annotations,
            log_path=c.log_path,
            mounts=[
                pb.Mount(container_path=m["container"], host_path=m["host"], readonly=m["readonly"])
                for m in c.mounts
            ],
        )

    def _image(self, reference: str) -> Msg:
        entry = images.lookup(reference)
        user = entry.user if entry is not None else None
        return self.pb.Image(
            id=images.image_id(reference),
            repo_tags=[reference],
            size=images.image_size(reference),
            spec=self.pb.ImageSpec(image=reference),
            uid=None if user is None else self.pb.Int64Value(value=user),
        )

    def _u64(self, value: int | None) -> Msg:
        return None if value is None else self.pb.UInt64Value(value=value)

    def _cpu_memory(self, key: str, paths: list[Path]) -> tuple[Msg, Msg]:
        use = self.rt.usage(key, paths)
        pb, ts = self.pb, use["timestamp"]
        cpu = pb.CpuUsage(
            timestamp=ts,
            usage_core_nano_seconds=self._u64(use.get("cpu_ns")),
            usage_nano_cores=self._u64(use.get("nano_cores")),
        )
        memory = pb.MemoryUsage(
            timestamp=ts,
            working_set_bytes=self._u64(use.get("working_set")),
            usage_bytes=self._u64(use.get("memory_usage")),
            rss_bytes=self._u64(use.get("rss")),
            page_faults=self._u64(use.get("page_faults")),
            major_page_faults=self._u64(use.get("major_page_faults")),
        )
        return cpu, memory

    def _container_stats(self, c: ContainerRecord) -> Msg:
        cpu, memory = self._cpu_memory(c.id, [Path(p) for p in c.cgroups])
        attributes = self.pb.ContainerAttributes(
            id=c.id, metadata=self._container_meta(c), labels=c.labels, annotations=c.annotations
        )
        return self.pb.ContainerStats(
            attributes=attributes, cpu=cpu, memory=memory, writable_layer=self._fs_usage()
        )

    def _fs_usage(self) -> Msg:
        root = self.rt.root
        root.mkdir(parents=True, exist_ok=True)
        stat = os.statvfs(root)
        return self.pb.FilesystemUsage(
            timestamp=time.time_ns(),
            fs_id=self.pb.FilesystemIdentifier(mountpoint=str(root)),
            used_bytes=self._u64((stat.f_blocks - stat.f_bfree) * stat.f_frsize),
            inodes_used=self._u64(stat.f_files - stat.f_ffree),
        )

    # -- RuntimeService ---------------------------------------------------------------------

    def Version(self, request: Msg, context: Any) -> Msg:
        return self.pb.VersionResponse(
            version="0.1.0",
            runtime_name="hpalab",
            runtime_version=__version__,
            runtime_api_version="v1",
        )

    def Status(self, request: Msg, context: Any) -> Msg:
        pb = self.pb
        conditions = [
            pb.RuntimeCondition(type="RuntimeReady", status=True),
            pb.RuntimeCondition(type="NetworkReady", status=True),
        ]
        return pb.StatusResponse(status=pb.RuntimeStatus(conditions=conditions))

    def RuntimeConfig(self, request: Msg, context: Any) -> Msg:
        linux = self.pb.LinuxRuntimeConfiguration(cgroup_driver=self.pb.CGROUPFS)
        return self.pb.RuntimeConfigResponse(linux=linux)

    def UpdateRuntimeConfig(self, request: Msg, context: Any) -> Msg:
        return self.pb.UpdateRuntimeConfigResponse()

    @_abort_on_errors
    def RunPodSandbox(self, request: Msg, context: Any) -> Msg:
        cfg = request.config
        options = cfg.linux.security_context.namespace_options
        record = SandboxRecord(
            id=os.urandom(32).hex(),
            name=cfg.metadata.name,
            namespace=cfg.metadata.namespace,
            uid=cfg.metadata.uid,
            attempt=cfg.metadata.attempt,
            labels=dict(cfg.labels),
            annotations=dict(cfg.annotations),
            hostname=cfg.hostname,
            log_directory=cfg.log_directory,
            cgroup_parent=cfg.linux.cgroup_parent,
            runtime_handler=request.runtime_handler,
            host_network=options.network == self.pb.NODE,
            netns="",
        )
        dns = (
            list(cfg.dns_config.servers),
            list(cfg.dns_config.searches),
            list(cfg.dns_config.options),
        )
        return self.pb.RunPodSandboxResponse(pod_sandbox_id=self.rt.run_sandbox(record, dns))

    @_abort_on_errors
    def StopPodSandbox(self, request: Msg, context: Any) -> Msg:
        self.rt.stop_sandbox(request.pod_sandbox_id)
        return self.pb.StopPodSandboxResponse()

    @_abort_on_errors
    def RemovePodSandbox(self, request: Msg, context: Any) -> Msg:
        self.rt.remove_sandbox(request.pod_sandbox_id)
        return self.pb.RemovePodSandboxResponse()

    @_abort_on_errors
    def PodSandboxStatus(self, request: Msg, context: Any) -> Msg:
        s = self.rt.sandbox(request.pod_sandbox_id)
        pb = self.pb
        mode = pb.NODE if s.host_network else pb.POD
        status = pb.PodSandboxStatus(
            id=s.id,
            metadata=self._sandbox_meta(s),
            state=self._sandbox_state(s),
            created_at=s.created_at,
            network=pb.PodSandboxNetworkStatus(ip=s.ip if s.ready else ""),
            linux=pb.LinuxPodSandboxStatus(
                namespaces=pb.Namespace(options=pb.NamespaceOption(network=mode, pid=pb.CONTAINER))
            ),
            labels=s.labels,
            annotations=s.annotations,
            runtime_handler=s.runtime_handler,
        )
        return pb.PodSandboxStatusResponse(status=status, timestamp=time.time_ns())

    @_abort_on_errors
    def ListPodSandbox(self, request: Msg, context: Any) -> Msg:
        f = request.filter
        items = []
        for s in list(self.rt.sandboxes.values()):
            if f.id and s.id != f.id:
                continue
            if f.HasField("state") and f.state.state != self._sandbox_state(s):
                continue
            if not _matches(s.labels, f.label_selector):
                continue
            items.append(
                self.pb.PodSandbox(
                    id=s.id,
                    metadata=self._sandbox_meta(s),
                    state=self._sandbox_state(s),
                    created_at=s.created_at,
                    labels=s.labels,
                    annotations=s.annotations,
                    runtime_handler=s.runtime_handler,
                )
            )
        return self.pb.ListPodSandboxResponse(items=items)

    @_abort_on_errors
    def CreateContainer(self, request: Msg, context: Any) -> Msg:
        cfg = request.config
        linux = cfg.linux
        res = linux.resources
        sec = linux.security_context
        uid = sec.run_as_user.value if sec.HasField("run_as_user") else None
        gid = (
            sec.run_as_group.value
            if sec.HasField("run_as_group")
            else (0 if uid is not None else None)
        )
        image = images.lookup(cfg.image.user_specified_image or cfg.image.image)
        if uid is None and image is not None and image.user is not None:
            uid = gid = image.user  # the image's USER, as a container runtime runs it
        sandbox = self.rt.sandbox(request.pod_sandbox_id)
        fields = {
            "name": cfg.metadata.name,
            "attempt": cfg.metadata.attempt,
            "image": cfg.image.user_specified_image or cfg.image.image,
            "labels": dict(cfg.labels),
            "annotations": dict(cfg.annotations),
            "log_path": str(Path(sandbox.log_directory) / cfg.log_path),
            "command": list(cfg.command),
            "args": list(cfg.args),
            "envs": {kv.key: _text(kv.value) for kv in cfg.envs},
            "cwd": cfg.working_dir or "/",
            "uid": uid,
            "gid": gid,
            "groups": list(sec.supplemental_groups),
            "mounts": [
                {"host": m.host_path, "container": m.container_path, "readonly": m.readonly}
                for m in cfg.mounts
            ],
            "resources": {
                "cpu_period": res.cpu_period,
                "cpu_quota": res.cpu_quota,
                "cpu_shares": res.cpu_shares,
                "memory_limit_in_bytes": res.memory_limit_in_bytes,
            },
        }
        container_id = self.rt.create_container(request.pod_sandbox_id, fields)
        return self.pb.CreateContainerResponse(container_id=container_id)

    @_abort_on_errors
    def StartContainer(self, request: Msg, context: Any) -> Msg:
        self.rt.start_container(request.container_id)
        return self.pb.StartContainerResponse()

    @_abort_on_errors
    def StopContainer(self, request: Msg, context: Any) -> Msg:
        self.rt.stop_container(request.container_id, float(request.timeout))
        return self.pb.StopContainerResponse()

    @_abort_on_errors
    def RemoveContainer(self, request: Msg, context: Any) -> Msg:
        self.rt.remove_container(request.container_id)
        return self.pb.RemoveContainerResponse()

    @_abort_on_errors
    def ListContainers(self, request: Msg, context: Any) -> Msg:
        f = request.filter
        items = []
        for c in list(self.rt.containers.values()):
            if (f.id and c.id != f.id) or (f.pod_sandbox_id and c.sandbox_id != f.pod_sandbox_id):
                continue
            if not _matches(c.labels, f.label_selector):
                continue
            state = getattr(self.pb, self._container_state(c).phase)
            if f.HasField("state") and f.state.state != state:
                continue
            items.append(
                self.pb.Container(
                    id=c.id,
                    pod_sandbox_id=c.sandbox_id,
                    metadata=self._container_meta(c),
                    image=self.pb.ImageSpec(image=c.image),
                    image_ref=c.image_id,
                    image_id=c.image_id,
                    state=state,
                    created_at=c.created_at,
                    labels=c.labels,
                    annotations=c.annotations,
                )
            )
        return self.pb.ListContainersResponse(containers=items)

    @_abort_on_errors
    def ContainerStatus(self, request: Msg, context: Any) -> Msg:
        c = self.rt.container(request.container_id)
        return self.pb.ContainerStatusResponse(status=self._container_status(c))

    @_abort_on_errors
    def UpdateContainerResources(self, request: Msg, context: Any) -> Msg:
        res = request.linux
        values = {
            "cpu_period": res.cpu_period,
            "cpu_quota": res.cpu_quota,
            "cpu_shares": res.cpu_shares,
            "memory_limit_in_bytes": res.memory_limit_in_bytes,
        }
        self.rt.update_resources(request.container_id, values)
        return self.pb.UpdateContainerResourcesResponse()

    @_abort_on_errors
    def ReopenContainerLog(self, request: Msg, context: Any) -> Msg:
        self.rt.reopen_log(request.container_id)
        return self.pb.ReopenContainerLogResponse()

    @_abort_on_errors
    def ExecSync(self, request: Msg, context: Any) -> Msg:
        out, err, code = self.rt.exec_sync(
            request.container_id, list(request.cmd), float(request.timeout)
        )
        return self.pb.ExecSyncResponse(stdout=out, stderr=err, exit_code=code)

    @_abort_on_errors
    def Exec(self, request: Msg, context: Any) -> Msg:
        body = {
            "container_id": request.container_id,
            "cmd": list(request.cmd),
            "tty": request.tty,
            "stdin": request.stdin,
            "stdout": request.stdout,
            "stderr": request.stderr,
        }
        return self.pb.ExecResponse(url=self.rt.stream_url("exec", body))

    @_abort_on_errors
    def PortForward(self, request: Msg, context: Any) -> Msg:
        body = {"pod_sandbox_id": request.pod_sandbox_id, "port": list(request.port)}
        return self.pb.PortForwardResponse(url=self.rt.stream_url("portforward", body))

    @_abort_on_errors
    def ContainerStats(self, request: Msg, context: Any) -> Msg:
        c = self.rt.container(request.container_id)
        return self.pb.ContainerStatsResponse(stats=self._container_stats(c))

    @_abort_on_errors
    def ListContainerStats(self, request: Msg, context: Any) -> Msg:
        f = request.filter
        stats = [
            self._container_stats(c)
            for c in list(self.rt.containers.values())
            if (not f.id or c.id == f.id)
            and (not f.pod_sandbox_id or c.sandbox_id == f.pod_sandbox_id)
            and _matches(c.labels, f.label_selector)
            and self._container_state(c).phase == "CONTAINER_RUNNING"
        ]
        return self.pb.ListContainerStatsResponse(stats=stats)

    def _sandbox_stats(self, s: SandboxRecord) -> Msg:
        cpu, memory = self._cpu_memory(s.id, cgroups.container_paths(s.cgroup_parent, ""))
        running = [
            c
            for c in self.rt.containers_of(s.id)
            if self._container_state(c).phase == "CONTAINER_RUNNING"
        ]
        linux = self.pb.LinuxPodSandboxStats(
            cpu=cpu, memory=memory, containers=[self._container_stats(c) for c in running]
        )
        attributes = self.pb.PodSandboxAttributes(
            id=s.id, metadata=self._sandbox_meta(s), labels=s.labels, annotations=s.annotations
        )
        return self.pb.PodSandboxStats(attributes=attributes, linux=linux)

    @_abort_on_errors
    def PodSandboxStats(self, request: Msg, context: Any) -> Msg:
        s = self.rt.sandbox(request.pod_sandbox_id)
        return self.pb.PodSandboxStatsResponse(stats=self._sandbox_stats(s))

    @_abort_on_errors
    def ListPodSandboxStats(self, request: Msg, context: Any) -> Msg:
        f = request.filter
        stats = [
            self._sandbox_stats(s)
            for s in list(self.rt.sandboxes.values())
            if s.ready and (not f.id or s.id == f.id) and _matches(s.labels, f.label_selector)
        ]
        return self.pb.ListPodSandboxStatsResponse(stats=stats)

    def ListMetricDescriptors(self, request: Msg, context: Any) -> Msg:
        return self.pb.ListMetricDescriptorsResponse()

    def ListPodSandboxMetrics(self, request: Msg, context: Any) -> Msg:
        return self.pb.ListPodSandboxMetricsResponse()

    # -- ImageService -----------------------------------------------------------------------

    def ListImages(self, request: Msg, context: Any) -> Msg:
        wanted = request.filter.image.image
        refs = sorted(self.rt.pulled)
        return self.pb.ListImagesResponse(
            images=[self._image(r) for r in refs if not wanted or self.rt.find_image(wanted) == r]
        )

    def ImageStatus(self, request: Msg, context: Any) -> Msg:
        found = self.rt.find_image(request.image.image)
        if found is None:
            return self.pb.ImageStatusResponse()
        return self.pb.ImageStatusResponse(image=self._image(found))

    @_abort_on_errors
    def PullImage(self, request: Msg, context: Any) -> Msg:
        return self.pb.PullImageResponse(image_ref=self.rt.pull(request.image.image))

    def RemoveImage(self, request: Msg, context: Any) -> Msg:
        self.rt.remove_image(request.image.image)
        return self.pb.RemoveImageResponse()

    def ImageFsInfo(self, request: Msg, context: Any) -> Msg:
        usage = self._fs_usage()
        return self.pb.ImageFsInfoResponse(image_filesystems=[usage], container_filesystems=[usage])
