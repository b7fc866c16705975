// Runs a hand-written PTX kernel (saxpy.ptx) on the PTX emulator, with its bounds and race checks, and compares it with
// the same computation on the CPU. The kernel text is what a real GPU would JIT; no GPU is needed here.
using Engine.Kernels.Ptx;

var module = PtxModule.Load(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "saxpy.ptx")));
using var dev = new EmulatedDevice();
int n = 10_000;
const float a = 2.5f;
var rng = new Random(1);
float[] x = new float[n], y = new float[n];
for (int i = 0; i < n; i++) { x[i] = (float)rng.NextDouble() - 0.5f; y[i] = (float)rng.NextDouble() - 0.5f; }
DeviceBuffer dx = dev.Alloc(x), dy = dev.Alloc(y);
dev.Launch(module, "saxpy", grid: 8, block: 128, sharedBytes: 0, dx, dy, a, n);   // 1,024 threads cover 10,000 elements
float[] result = dev.Download<float>(dy);
int wrong = 0;
for (int i = 0; i < n; i++) if (result[i] != MathF.FusedMultiplyAdd(a, x[i], y[i])) wrong++;
Console.WriteLine($"saxpy on the emulator: {n} elements, {wrong} differ from the CPU's fma");
return wrong == 0 ? 0 : 1;
