# Called by quant-vs-ggml.ts: ggml_quantize_chunk (libggml-base from node-llama-cpp) on float32 rows.
# argv: libggml-base.so input.f32 rows cols out_prefix type_id...
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1])
lib.ggml_quantize_chunk.restype = ctypes.c_size_t
lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
lib.ggml_row_size.restype = ctypes.c_size_t
lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
lib.ggml_quantize_init.argtypes = [ctypes.c_int]
data = open(sys.argv[2], 'rb').read()
rows, cols = int(sys.argv[3]), int(sys.argv[4])
src = ctypes.create_string_buffer(data, len(data))
for t in map(int, sys.argv[6:]):
    lib.ggml_quantize_init(t)
    dst = ctypes.create_string_buffer(lib.ggml_row_size(t, cols) * rows)
    n = lib.ggml_quantize_chunk(t, src, dst, 0, rows, cols, None)
    open('%s.%d' % (sys.argv[5], t), 'wb').write(dst.raw[:n])
