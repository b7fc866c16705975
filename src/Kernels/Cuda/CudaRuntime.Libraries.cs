using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using static Engine.Kernels.Cuda.CudaDriver;

namespace Engine.Kernels.Cuda;

// The cuBLAS and cuDNN handles of a device: created on first use with the primary context current, bound to Stream, and
// destroyed with the context pushed. A handle is not safe for concurrent use, so every library call runs under the
// runtime's library lock (LibraryScope), which also keeps the context current for the call.
public sealed unsafe partial class CudaRuntime
{
    private readonly object _libraryLock = new();
    private LibraryHandle? _cublas, _cudnn;

    /// <summary>Convolution algorithms found by cudnnFind*, per (direction, dtype, math, shape); see <see cref="ConvAlgorithms"/>.</summary>
    private readonly ConcurrentDictionary<string, Cudnn.AlgoPerf[]> _convAlgorithms = new();

    /// <summary>The cached cuDNN algorithm search results (fastest first) for a convolution key, computed by <paramref name="find"/> once.</summary>
    internal Cudnn.AlgoPerf[] ConvAlgorithms(string key, Func<Cudnn.AlgoPerf[]> find) => _convAlgorithms.GetOrAdd(key, _ => find());

    /// <summary>Number of cached convolution algorithm choices (one per direction, dtype, math mode and shape).</summary>
    internal int ConvAlgorithmCount => _convAlgorithms.Count;

    /// <summary>
    /// Takes the library lock and makes the context current, creating the cuBLAS handle on first use; dispose the scope
    /// after the call. The handle issues its work on <see cref="Stream"/>.
    /// </summary>
    internal LibraryScope EnterCublas() => EnterLibrary(ref _cublas, "cuBLAS", CreateCublas);

    /// <summary>As <see cref="EnterCublas"/>, for the cuDNN handle.</summary>
    internal LibraryScope EnterCudnn() => EnterLibrary(ref _cudnn, "cuDNN", CreateCudnn);

    private LibraryScope EnterLibrary(ref LibraryHandle? slot, string library, Func<LibraryHandle> create)
    {
        Monitor.Enter(_libraryLock);
        try
        {
            var ctx = Enter();
            try
            {
                slot ??= create();
                return new LibraryScope(ctx, slot.Handle, _libraryLock);
            }
            catch (DllNotFoundException e)
            {
                ctx.Dispose();
                throw new DeviceException(library, $"the {library} library is not available ({e.Message}); set ENGINE_CUDA_LIBRARY_PATH to its directory");
            }
            catch { ctx.Dispose(); throw; }
        }
        catch { Monitor.Exit(_libraryLock); throw; }
    }

    // Called with the context current and the lock held.
    private LibraryHandle CreateCublas()
    {
        Cublas.Check(Cublas.cublasCreate_v2(out nint h), nameof(Cublas.cublasCreate_v2), $"on {Device}");
        var handle = new LibraryHandle(h, _context, LibraryHandle.Kind.Cublas);
        Cublas.Check(Cublas.cublasSetStream_v2(h, Stream), nameof(Cublas.cublasSetStream_v2));
        return handle;
    }

    private LibraryHandle CreateCudnn()
    {
        Cudnn.Check(Cudnn.cudnnCreate(out nint h), nameof(Cudnn.cudnnCreate), $"on {Device}");
        var handle = new LibraryHandle(h, _context, LibraryHandle.Kind.Cudnn);
        Cudnn.Check(Cudnn.cudnnSetStream(h, Stream), nameof(Cudnn.cudnnSetStream));
        return handle;
    }

    // Destroys the library handles (called by Dispose before the context goes).
    private void DisposeLibraries()
    {
        lock (_libraryLock)
        {
            _cublas?.Dispose();
            _cudnn?.Dispose();
            _cublas = _cudnn = null;
        }
        _convAlgorithms.Clear();
    }

    /// <summary>The library lock and the pushed context for one library call; exposes the handle.</summary>
    internal ref struct LibraryScope
    {
        private ContextScope _ctx;
        private object? _lock;

        internal LibraryScope(ContextScope ctx, nint handle, object libraryLock)
        {
            _ctx = ctx;
            Handle = handle;
            _lock = libraryLock;
        }

        /// <summary>The cublasHandle_t or cudnnHandle_t.</summary>
        public nint Handle { get; }

        public void Dispose()
        {
            if (_lock is null) return;
            _ctx.Dispose();
            Monitor.Exit(_lock);
            _lock = null;
        }
    }

    /// <summary>A cuBLAS or cuDNN handle, destroyed with its context pushed (tolerating a context already gone).</summary>
    internal sealed class LibraryHandle : SafeHandle
    {
        internal enum Kind { Cublas, Cudnn }

        private readonly PrimaryContext _ctx;
        private readonly Kind _kind;
        private bool _ctxRef;

        public LibraryHandle(nint h, PrimaryContext ctx, Kind kind) : base(0, ownsHandle: true)
        {
            SetHandle(h);
            _ctx = ctx;
            _kind = kind;
            ctx.DangerousAddRef(ref _ctxRef);   // the context outlives its library handles
        }

        public nint Handle => handle;

        public override bool IsInvalid => handle == 0;

        protected override bool ReleaseHandle()
        {
            if (cuCtxPushCurrent_v2(_ctx.Context) == CUDA_SUCCESS)
            {
                try
                {
                    if (_kind == Kind.Cublas) Cublas.cublasDestroy_v2(handle);
                    else Cudnn.cudnnDestroy(handle);
                }
                catch (DllNotFoundException) { }
                finally { cuCtxPopCurrent_v2(out _); }
            }
            if (_ctxRef) _ctx.DangerousRelease();
            return true;
        }
    }
}
