"""The NumPy array types of the scheduler's columns, named once for every module that reads them.

One slot per node (NodeTable) or per bound workload (WorkloadTable): masks are BoolArray,
quantities I64Array (millicores, bytes, counts: exact integers, never floats), label codes
I32Array, scores and 1/allocatable FloatArray.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]
I32Array = npt.NDArray[np.int32]
I64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
