"""A node's side of volumes.

Persistent volumes: a workload's claims resolved to their data here (claims.py) and attached
before it starts, one rule for pods and VMs (attach.py), the room for
local volumes (capacity.py), deleted volumes' data removed (reclaimer.py). Making and removing the
data itself is atoll/volume_data.py (the controller removes shared data too).

A pod's own volumes and the configuration its containers read from the API:

    projection.py   kubelet's atomic writer: files behind a ``..data`` symlink swapped in one rename
    payload.py      ConfigMap/Secret -> the files of a volume (items, modes, optional)
    sources.py      reading ConfigMaps and Secrets for a pod, and watching those its volumes show
    env.py          env[].valueFrom and envFrom resolved when a container starts
    host.py         emptyDir (a directory, or a tmpfs of sizeLimit), hostPath type checks, subPath
    pod_volumes.py  one pod's volumes (STATE_DIR/pod-volumes/<pod uid>/<volume>): prepare, refresh
                    on change, mounts per container, clean up

Simulated nodes resolve the same references (same errors, same waiting reasons) but write no
files: ``PodVolumes`` without a directory.
"""
