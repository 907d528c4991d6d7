"""Which BLAS this torch uses, for the PyTorch sides of the Parry-against-PyTorch benchmarks (bench-torch.py,
bench-torch-transformer.py): Debian's python3-torch runs the reference BLAS unless an optimised one is installed
(`apt-get install libopenblas0-pthread`), which makes it several times slower; the Node drivers refuse to compare
then (scripts/bench-utils.mjs `torchBlasProblem`)."""
import os
import re

import torch


def blas():
    """(BLAS_INFO from torch's build config, sorted names of the BLAS/LAPACK libraries this process mapped)."""
    m = re.search(r'BLAS_INFO=([^,\s]+)', torch.__config__.show())
    info = m.group(1) if m else 'unknown'
    # which shared library the process actually mapped
    libs = set()
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                name = os.path.basename(line.split()[-1]) if '/' in line else ''
                if 'blas' in name or 'lapack' in name:
                    libs.add(name)
    except OSError:
        pass
    return info, sorted(libs)
