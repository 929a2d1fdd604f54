using System.Diagnostics;
using Csi.V1;
using CsiDriver.Cli;
using Grpc.Net.Client;

namespace CsiDriver.Testing;

/// <summary>
/// The driver as a separate OS process (csi-driver.dll next to the test assembly), for what an in-process
/// host cannot show: kill -9 mid-lifecycle, real signal handling, the process's own output.
/// </summary>
public sealed class DriverProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ProcessOutput _output;
    private readonly GrpcChannel _channel;

    private DriverProcess(Process process, ProcessOutput output, string endpoint)
    {
        _process = process;
        _output = output;
        Endpoint = endpoint;
        _channel = UnixSocketChannel.Create(endpoint);
        Identity = new Identity.IdentityClient(_channel);
        Controller = new Controller.ControllerClient(_channel);
        Node = new Node.NodeClient(_channel);
    }

    public string Endpoint { get; }

    public Identity.IdentityClient Identity { get; }

    public Controller.ControllerClient Controller { get; }

    public Node.NodeClient Node { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => _output.ToString();

    /// <summary>Starts csi-driver with the given arguments and waits until its socket accepts connections.</summary>
    public static Task<DriverProcess> StartAsync(string socketPath, params string[] arguments) =>
        StartAsync(Path.Combine(AppContext.BaseDirectory, "csi-driver.dll"), new Dictionary<string, string>(), socketPath, arguments);

    /// <summary>
    /// Starts a given build of csi-driver (another commit's csi-driver.dll, as bench/ compares builds) with extra
    /// environment variables, and waits until its socket accepts connections.
    /// </summary>
    public static async Task<DriverProcess> StartAsync(string driverDll, IReadOnlyDictionary<string, string> environment, string socketPath, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        info.ArgumentList.Add(driverDll);
        info.ArgumentList.Add("--endpoint");
        info.ArgumentList.Add("unix://" + socketPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info };
        var driver = new DriverProcess(process, ProcessOutput.Start(process), "unix://" + socketPath);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!process.HasExited && DateTime.UtcNow < deadline)
        {
            if (File.Exists(socketPath) && CsiDriver.Host.SocketEndpoint.IsServed(socketPath))
            {
                return driver;
            }
            await Task.Delay(100).ConfigureAwait(false);
        }
        var output = driver.Output;
        await driver.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException($"csi-driver did not start serving {socketPath}:\n{output}");
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, as after a node crash or OOM kill.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM, then waits for a graceful exit; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        ProcessOutput.Terminate(_process);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
