"""Replay buffers and truncated rollouts for GFlowNet training (fg_gfn_set_replay and
fg_gfn_set_max_rollout_steps of include/flowgen.h). Importing flowgen adds :meth:`GFlowNet.set_replay`,
:attr:`GFlowNet.replay_count`, :meth:`GFlowNet.set_max_rollout_steps` and
:attr:`GFlowNet.max_rollout_steps`."""
import ctypes

from ._lib import get_lib
from ._sig_gfn_api import GFN_REPLAY_KINDS
from .gfn import GFlowNet
from .mlp import _enum, _real, _unsigned

__all__ = ["set_replay", "set_max_rollout_steps"]


def set_replay(gfn, capacity, ratio=0.5, kind="trajectory"):
    """Mixes replayed trajectories into every training batch of ``gfn``.

    capacity: stored items (1 ... 2^24; 0 removes the buffer). ratio: fraction of each batch replayed,
    in [0, 1). kind: "trajectory" (stored trajectories, uniform), "backward" (terminal states
    re-expanded with the current P_B) or "prioritized" (drawn proportionally to R(x), keeps the best).
    Losses always use the current policy's log-probabilities. Not saved by ``save()``.
    """
    lib = get_lib()
    params = lib.fg_gfn_replay_default_params()
    params.kind = _enum("kind", kind, GFN_REPLAY_KINDS)
    params.capacity = _unsigned("capacity", capacity, 64)
    params.ratio = _real("ratio", ratio)
    with gfn._use() as handle:
        gfn._check(lib.fg_gfn_set_replay(handle, ctypes.byref(params)))


def _replay_count(gfn):
    with gfn._use() as handle:
        return int(get_lib().fg_gfn_replay_count(handle))


GFlowNet.set_replay = set_replay
GFlowNet.replay_count = property(_replay_count, doc="Items stored in the replay buffer (0 without one).")


def set_max_rollout_steps(gfn, k):
    """Truncated rollouts (incomplete trajectories, Pan et al. 2023): with k > 0 each training step
    advances every rollout by at most k transitions; rollouts that do not exit are incomplete and are
    continued by the next step, so no batch needs a whole trajectory. ``train(n)`` then counts completed
    trajectories. k = 0 trains on whole trajectories. Needs loss "fldb" or "flsubtb" and no replay
    buffer (InvalidArgumentError otherwise; the GFlowNet is unchanged). Saved by ``save()``.
    """
    k = _unsigned("max_rollout_steps", k, 64)
    with gfn._use() as handle:
        gfn._check(get_lib().fg_gfn_set_max_rollout_steps(handle, k))


def _max_rollout_steps(gfn):
    with gfn._use() as handle:
        return int(get_lib().fg_gfn_max_rollout_steps(handle))


GFlowNet.set_max_rollout_steps = set_max_rollout_steps
GFlowNet.max_rollout_steps = property(_max_rollout_steps, doc="The rollout limit (0 = whole trajectories).")
