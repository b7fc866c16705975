using System.CommandLine;
using Engine.Cli;

// The `engine` command: each verb lives in its own file under Commands/.
var root = new RootCommand("Engine: train and evaluate CNN image classifiers on the CPU or a CUDA GPU, from C#.");
root.Add(TrainCommand.Create());
root.Add(EvalCommand.Create());
root.Add(ModelsCommand.Create());
root.Add(SummaryCommand.Create());
root.Add(ExportCommand.Create());
root.Add(BenchCommand.Create());
root.Add(InfoCommand.Create());
root.Add(FinetuneCommand.Create());
root.Add(DistillCommand.Create());
root.Add(PseudoLabelCommand.Create());
root.Add(NoisyStudentCommand.Create());
root.Add(KnnCommand.Create());
root.Add(DeformDemoCommand.Create());
return root.Parse(args).Invoke();
