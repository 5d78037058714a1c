#!/usr/bin/python3
"""Writes the small .pth files of pth_corpus/: the fuzzer's seeds and the reader's test inputs.

    /usr/bin/python3 models/testdata/make_pth_seeds.py models/testdata/pth_corpus
"""

import collections
import io
import os
import sys

import torch


def main(out):
    torch.manual_seed(0)
    small = collections.OrderedDict()
    small["conv.weight"] = torch.arange(12, dtype=torch.float32).reshape(2, 1, 2, 3)
    small["conv.bias"] = torch.tensor([0.5, -0.5])
    small["bn.num_batches_tracked"] = torch.tensor(3)
    torch.save(small, os.path.join(out, "seed_small.pth"))

    # A view into a shared storage: the second tensor starts at an offset, transposed strides.
    base = torch.arange(20, dtype=torch.float32)
    views = collections.OrderedDict()
    views["whole"] = base
    views["slice_t"] = base[4:16].view(3, 4).t()
    torch.save(views, os.path.join(out, "seed_views.pth"))

    torch.save({"w": torch.ones(3, dtype=torch.float16), "i": torch.arange(4)},
               os.path.join(out, "seed_dtypes.pth"))
    torch.save({"state_dict": small, "epoch": 3}, os.path.join(out, "seed_checkpoint.pth"))
    model = torch.nn.Linear(3, 2)
    torch.save(model.state_dict(), os.path.join(out, "seed_linear.pth"))
    torch.save(small, os.path.join(out, "legacy_format.pth"), _use_new_zipfile_serialization=False)


# Hostile and broken files: each must give a clear error and nothing else.
class _FakeStorage:
    pass


class _FakeTensor:
    def __init__(self, size, stride, offset=0):
        self.args = (_FakeStorage(), offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class _Pickler(__import__("pickle").Pickler):
    def __init__(self, f, numel):
        super().__init__(f, protocol=2)
        self.numel = numel

    def persistent_id(self, obj):
        if isinstance(obj, _FakeStorage):
            return ("storage", torch.FloatStorage, "0", "cpu", self.numel)
        return None


class _RunsCode:
    def __reduce__(self):
        import os
        return (os.system, ("echo this must never run",))


def _write_zip(path, pickle_bytes, storage_bytes, compress=False):
    import zipfile
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/data/0", storage_bytes)
        z.writestr("archive/version", "3\n")


def _pickled(obj, numel):
    buffer = io.BytesIO()
    _Pickler(buffer, numel).dump(obj)
    return buffer.getvalue()


def hostile(out):
    four = bytes(16)
    # A view reaching element 99 of a 4-element storage.
    _write_zip(os.path.join(out, "hostile_view_past_storage.pth"),
               _pickled(collections.OrderedDict(w=_FakeTensor((100,), (1,))), 4), four)
    # A storage claiming 2^62 elements, backed by 16 bytes.
    _write_zip(os.path.join(out, "hostile_huge_storage.pth"),
               _pickled(collections.OrderedDict(w=_FakeTensor((4,), (1,))), 1 << 62), four)
    # Sizes whose product overflows 64 bits.
    _write_zip(os.path.join(out, "hostile_size_overflow.pth"),
               _pickled(collections.OrderedDict(w=_FakeTensor((1 << 40, 1 << 40), (0, 0))), 4), four)
    # A pickle that would run a shell command if it were executed.
    _write_zip(os.path.join(out, "hostile_runs_code.pth"), _pickled(_RunsCode(), 4), four)
    # A compressed archive (torch.save never compresses).
    _write_zip(os.path.join(out, "broken_compressed.pth"),
               _pickled(collections.OrderedDict(w=_FakeTensor((4,), (1,))), 4), four, compress=True)
    # A storage record shorter than its declared size.
    _write_zip(os.path.join(out, "broken_short_record.pth"),
               _pickled(collections.OrderedDict(w=_FakeTensor((4,), (1,))), 4), bytes(8))
    # Half a file.
    with open(os.path.join(out, "seed_small.pth"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "broken_truncated.pth"), "wb") as f:
        f.write(data[: len(data) // 2])


if __name__ == "__main__":
    main(sys.argv[1])
    hostile(sys.argv[1])
