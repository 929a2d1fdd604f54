using System.Globalization;
using CsiDriver.Testing.Aws;

// ec2-simulator [--port N] [--region R] [--instance ID:ZONE[:TYPE]]... [--snapshot-delay SECONDS] [--url-file PATH]
// Serves the EC2 Query API subset of CsiDriver.Testing's simulator on 127.0.0.1 until SIGTERM/SIGINT.
// --snapshot-delay: how long a snapshot stays pending (default 0.1 s; real EBS takes minutes).
var options = new Ec2SimulatorOptions();
var instances = new List<Ec2InstanceSeed>();
string? urlFile = null;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--port":
            options.Port = int.Parse(Next(), NumberStyles.None, CultureInfo.InvariantCulture);
            break;
        case "--region":
            options.Region = Next();
            break;
        case "--instance":
            var parts = Next().Split(':');
            if (parts.Length is < 2 or > 3)
            {
                Console.Error.WriteLine("--instance takes ID:ZONE[:TYPE]");
                return 2;
            }
            instances.Add(Ec2InstanceSeed.WithRootVolume(parts[0], parts[1], parts.Length == 3 ? parts[2] : "m5.large"));
            break;
        case "--snapshot-delay":
            var seconds = double.Parse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(seconds) || seconds < 0)
            {
                Console.Error.WriteLine("--snapshot-delay takes a number of seconds, 0 or more");
                return 2;
            }
            options.SnapshotDelay = TimeSpan.FromSeconds(seconds);
            break;
        case "--url-file":
            urlFile = Next();
            break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: ec2-simulator [--port N] [--region R] [--instance ID:ZONE[:TYPE]]... [--snapshot-delay SECONDS] [--url-file PATH]");
            return 2;
    }
}

await using var simulator = await Ec2Simulator.StartAsync(options).ConfigureAwait(false);
foreach (var instance in instances)
{
    simulator.AddInstance(instance);
}
if (urlFile is not null)
{
    // Written whole then renamed, so a script polling for the file never reads half a URL.
    await File.WriteAllTextAsync(urlFile + ".tmp", simulator.Url).ConfigureAwait(false);
    File.Move(urlFile + ".tmp", urlFile, overwrite: true);
}
Console.WriteLine($"ec2-simulator listening on {simulator.Url} (region {options.Region}, {instances.Count} instance(s))");

using var stop = new CancellationTokenSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
try
{
    await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
}
catch (OperationCanceledException)
{
}
Console.WriteLine($"ec2-simulator stopping: {simulator.Volumes().Count} volume(s), {simulator.Snapshots().Count} snapshot(s)");
return 0;
