using System.Diagnostics;
using System.Globalization;
using Csi.V1;
using CsiDriver.Cli;
using CsiDriver.Testing;
using Grpc.Core;
using Grpc.Net.Client;

namespace CsiDriver.Footprint;

/// <summary>
/// A csi-driver process started by the benchmark: its clock starts right before exec, it is ready at the first
/// successful Probe over its unix socket, and its memory is read from /proc (VmRSS, VmHWM).
/// </summary>
public sealed class DriverUnderTest : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ProcessOutput _output;
    private GrpcChannel? _channel;

    private DriverUnderTest(Process process, ProcessOutput output, string socketPath)
    {
        _process = process;
        _output = output;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    /// <summary>exec → the socket file exists (Kestrel bound it).</summary>
    public TimeSpan SocketReady { get; private set; }

    /// <summary>exec → the first Probe answered ready.</summary>
    public TimeSpan ProbeReady { get; private set; }

    public Identity.IdentityClient Identity => new(Channel);

    public Controller.ControllerClient Controller => new(Channel);

    public Node.NodeClient Node => new(Channel);

    private GrpcChannel Channel => _channel ??= UnixSocketChannel.Create("unix://" + SocketPath);

    public static async Task<DriverUnderTest> StartAsync(DriverBuild build, string socketPath, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var info = build.StartInfo(["--endpoint", "unix://" + socketPath, .. arguments]);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        var process = new Process { StartInfo = info };
        var clock = Stopwatch.StartNew();
        var driver = new DriverUnderTest(process, ProcessOutput.Start(process), socketPath);
        try
        {
            await driver.WaitForProbeAsync(clock, timeout).ConfigureAwait(false);
            return driver;
        }
        catch
        {
            await driver.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Polls tightly (1 ms) so the figure is the driver's start, not the poll interval.</summary>
    private async Task WaitForProbeAsync(Stopwatch clock, TimeSpan timeout)
    {
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_process.StartInfo.FileName} exited with {_process.ExitCode}:\n{Output}");
            }
            if (SocketReady == TimeSpan.Zero && File.Exists(SocketPath))
            {
                SocketReady = clock.Elapsed;
            }
            if (SocketReady != TimeSpan.Zero)
            {
                try
                {
                    var probe = await Identity.ProbeAsync(new ProbeRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ConfigureAwait(false);
                    if (probe.Ready is null || probe.Ready.Value)
                    {
                        ProbeReady = clock.Elapsed;
                        return;
                    }
                }
                catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
                {
                }
            }
            await Task.Delay(1).ConfigureAwait(false);
        }
        throw new TimeoutException($"no successful Probe on {SocketPath} within {timeout.TotalSeconds:0} s:\n{Output}");
    }

    /// <summary>Resident set size now, in MiB.</summary>
    public double RssMiB => ReadStatusKiB("VmRSS:") / 1024.0;

    /// <summary>Peak resident set size, in MiB.</summary>
    public double PeakRssMiB => ReadStatusKiB("VmHWM:") / 1024.0;

    /// <summary>VmRSS split into anonymous memory (heaps, hydrated type data, stacks) and file pages (the mapped image).</summary>
    public string RssSplit => $"{ReadStatusKiB("RssAnon:") / 1024.0:0.0} anon + {ReadStatusKiB("RssFile:") / 1024.0:0.0} file MiB";

    /// <summary>Copies /proc/PID/smaps to <paramref name="path"/> (FOOTPRINT_SMAPS_DIR), to attribute RSS to mappings.</summary>
    public void SaveSmaps(string path) => File.Copy($"/proc/{_process.Id}/smaps", path, overwrite: true);

    public string Output => _output.ToString();

    private long ReadStatusKiB(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"/proc/{_process.Id}/status has no {field}");
    }

    /// <summary>SIGTERM and a graceful exit (the socket file is removed), SIGKILL if it hangs.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (!_process.HasExited)
        {
            ProcessOutput.Terminate(_process);
            using var graceful = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(graceful.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        _process.Dispose();
    }
}
