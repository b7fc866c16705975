// Trains LeNet-5 on Fashion-MNIST on the CPU for a few steps, saves a checkpoint, reloads it into a fresh model and
// checks that both predict the same. Usage: dotnet run [-- STEPS]
using Engine;
using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

int steps = args.Length > 0 ? int.Parse(args[0]) : 60;
var train = FashionMnist.Load(train: true);          // the full set if installed, else the embedded subset
var test = FashionMnist.Load(train: false);
var info = FashionMnist.Info;
Console.WriteLine($"data: {train.Count} training, {test.Count} test images ({train.Source})");

using var model = ModelRegistry.Create("lenet5", new ModelOptions(info.NumClasses, info.Channels, new Generator(0)));
using var opt = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);
using var loader = new DataLoader(train, batchSize: 64, shuffle: true, dropLast: true, seed: 0, transform: info.Normalize());
int step = 0;
foreach (var batch in loader)
{
    using var owned = batch;                          // batches handed over are ours to dispose (the loader recycles them)
    using var scope = Tensor.NewDisposeScope();
    opt.ZeroGrad();
    var loss = Functional.CrossEntropy(model.Call(batch.Images), batch.Labels);
    loss.Backward();
    opt.Step();
    if (++step % 10 == 0) Console.WriteLine($"step {step}: loss {loss.Item():F4}");
    if (step == steps) break;
}

string path = Path.Combine(Path.GetTempPath(), $"sample-lenet5-{Environment.ProcessId}.safetensors");
Checkpoint.Save(path, model, opt, epoch: 1);
using var restored = ModelRegistry.Create("lenet5", new ModelOptions(info.NumClasses, info.Channels, new Generator(1)));
Checkpoint.Load(path, restored);
File.Delete(path);

using var eval = new DataLoader(test, batchSize: 256, transform: info.Normalize());
using var first = eval.First();
using (Tensor.NoGrad())
{
    using var a = model.Eval().Call(first.Images).ArgMax(1);
    using var b = restored.Eval().Call(first.Images).ArgMax(1);
    using var same = a.Eq(b).To(DType.Float32).Mean();
    using var right = a.Eq(first.Labels).To(DType.Float32).Mean();
    Console.WriteLine($"after {step} steps: accuracy {right.Item():P1} on {first.Labels.Size(0)} test images; reloaded model agrees on {same.Item():P0}");
    if (same.Item() != 1) { Console.Error.WriteLine("the reloaded checkpoint predicts differently"); return 1; }
}
return 0;
