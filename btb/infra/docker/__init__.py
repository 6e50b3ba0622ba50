"""The Docker provider: the engines of a trial as containers (Docker SDK, never CLI parsing), all under ONE budget.

Per trial (keyed by trial id, like `LocalProvider`):

- **Containers** `btb-<node>-<trial>-<hash>-<kind>`, labelled `btb.provider=docker`, `btb.node`, `btb.trial`,
  `btb.kind`, so `trials()` finds leftovers and `stop(trial)` never touches another trial's. Host network
  (`network_mode=host`), each engine bound to 127.0.0.1 on its own free port. No environment is passed:
  an engine never sees a btb secret. Engine credentials (PostgreSQL SCRAM superuser password, FalkorDB
  `requirepass`) are generated per trial, kept on the node in the trial's 0700 state dir (clients get the
  file's path, never the password), and reach the container as a file copied into it (`put_archive`)
  before it starts — never on an argv, in an env or a label.
- **One budget** for all engines of a trial (a hybrid's two engines share it): with the cgroupfs driver
  every container of the trial is created with `cgroup_parent` = a per-trial parent cgroup that carries
  the budget (`memory.limit_in_bytes` + memsw on v1, `memory.max` on v2); each container also gets
  `--memory` = the budget (shown by `docker inspect`; the parent is what binds a hybrid). With the systemd
  driver (no parent btb can size before the containers start) the budget is a **stated split** (equal
  shares, recorded in `Started.split`, budget_mode "split").
- **Monitor**: each Endpoint carries `container=<id>` and `cgroup=` the trial's parent memory cgroup, the
  cgroup that holds exactly the trial's containers and carries the budget. Not the container's own cgroup
  (kept in `extra["container_cgroup"]`): Docker destroys and recreates that one at every container
  restart (each cold run), which would leave the monitor reading a dead cgroup (ENODEV). In split mode
  it is the container's own cgroup (the monitor reopens it after a restart), with Docker stats as fallback.
- **OOM**: the kernel's oom_kill counter of each container's memory cgroup while it exists, and
  `State.OOMKilled` once it has exited (its cgroup is gone then), folded into a per-trial tally that never
  goes down (`oom_kills`).
- **Data** in named volumes (`…-<kind>-data`, same labels), kept across `park`/`resume`: a dataset loads
  once and is served under each budget; `resume` recreates the containers with the new `--memory`, a new
  parent cgroup and engine settings sized to the budget (`settings_for_budget`, shared with the local
  PostgreSQL engine).
- **Health**: every start waits for the engine to accept an authenticated client, up to a real timeout
  (`ready_timeout_s`); a timeout, or a container that exits meanwhile, raises EngineUnavailable with the
  tail of its log (and the OOM count when it was OOM-killed).
- **Cold runs** (`drop_cache`): the engine was restarted cleanly by `restart(clean=True)`; its volume's
  files are then evicted from the page cache with posix_fadvise where this process can reach the volume's
  directory on the host (root on the Docker host); elsewhere it returns False and the record says so.

The package, one concern a module:

- `provider.py`: `DockerProvider`, the Provider API and the per-trial state;
- `launch.py`: one engine's container made, started, waited for, described, stopped, its log kept;
- `budget.py`: the per-trial parent cgroup (or the stated split) and the kernel's OOM counters;
- `protocol.py`: `ContainerEngine`, what the provider asks of each engine kind's driver;
- `containers.py`: the driver of each engine kind (command line, files, probes), found by kind in
  `btb.engines.registry`: the drivers never import the provider, nor the provider the drivers;
- `images.py`: which image runs each kind (a local build from `btb images build`, else the pinned
  official image) and how the local ones are built.
"""
