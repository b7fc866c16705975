// Fine-tunes a torchvision-exported ResNet-18 (RGB, 1000 classes) on Fashion-MNIST (grey, 10 classes): the stem is summed
// to one input channel, the 1000-class head is skipped and a new one trained, the backbone frozen for the first steps.
// Usage: dotnet run -- RESNET18.safetensors [STEPS]   (export_resnet18.py writes such a file from torchvision)
using Engine;
using Engine.Models;
using Engine.Nn;
using Engine.Nn.Data;

if (args.Length < 1) { Console.Error.WriteLine("usage: FineTuning RESNET18.safetensors [STEPS]"); return 2; }
int steps = args.Length > 1 ? int.Parse(args[1]) : 10;
var info = FashionMnist.Info;
using var model = ModelRegistry.Create("resnet18", new ModelOptions(info.NumClasses, info.Channels, new Generator(0)));
PretrainedLoad load;
try { load = PretrainedWeights.Load(model, args[0], mismatch: ShapeMismatch.AdaptOrSkip); }
catch (RecipeException e) { Console.Error.WriteLine(e.Message); return 1; }   // no such file, or another model's weights
foreach (var note in load.Notes) Console.WriteLine($"note: {note}");

var head = FineTuning.FreezeBackbone(model, "fc");   // the backbone frozen (BatchNorm kept in eval mode), the head trains
Console.WriteLine($"training the new head ({head.Sum(p => p.NumEl):N0} parameters) on a frozen backbone");
using var opt = new SGD(head, lr: 0.01, momentum: 0.9);
var train = FashionMnist.Load(train: true);
using var loader = new DataLoader(train, batchSize: 32, shuffle: true, dropLast: true, seed: 0,
    transform: new Compose(new Resize(32, 32), info.Normalize()));
int step = 0;
double first = double.NaN, last = double.NaN;
foreach (var batch in loader)
{
    using var owned = batch;
    using var scope = Tensor.NewDisposeScope();
    opt.ZeroGrad();
    var loss = Functional.CrossEntropy(model.Train().Call(batch.Images), batch.Labels);
    loss.Backward();
    opt.Step();
    last = loss.Item();
    if (step == 0) first = last;
    if (++step == steps) break;
}
Console.WriteLine($"{step} steps: loss {first:F3} -> {last:F3}");
return double.IsFinite(last) ? 0 : 1;
