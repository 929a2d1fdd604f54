using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Csi.V1;
using CsiDriver.Cli;
using CsiDriver.Testing;
using Grpc.Core;

namespace CsiDriver.Host.Tests.Logging;

/// <summary>
/// Runs the built csi-driver executable with --log-format json --log-level Trace, sends RPCs carrying
/// csi_secret maps, and scans everything the process wrote: the secret values must appear nowhere, while
/// the per-RPC lines (with their fields as JSON properties) must be there.
/// </summary>
public sealed class SecretsNeverLoggedTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Json_trace_output_of_rpcs_with_secrets_has_every_call_line_and_no_secret()
    {
        using var dir = new TestDirectory("secrets");
        var secrets = new Dictionary<string, string>
        {
            ["csi.storage.k8s.io/provisioner-secret"] = "S3cr3t-provisioner-" + Guid.NewGuid().ToString("N"),
            ["aws_secret_access_key"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY-" + Guid.NewGuid().ToString("N"),
            ["passphrase"] = "luks-passphrase-" + Guid.NewGuid().ToString("N"),
        };
        var socket = dir.Path("csi.sock");
        using var driver = StartDriver(dir, socket);
        await WaitForSocketAsync(driver, socket);

        using (var channel = UnixSocketChannel.Create("unix://" + socket))
        {
            var identity = new Identity.IdentityClient(channel);
            var controller = new Controller.ControllerClient(channel);
            var node = new Node.NodeClient(channel);
            await identity.ProbeAsync(new ProbeRequest());
            var capability = new VolumeCapability
            {
                Mount = new VolumeCapability.Types.MountVolume { FsType = "ext4" },
                AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
            };
            var create = new CreateVolumeRequest
            {
                Name = "pvc-secret-test",
                CapacityRange = new CapacityRange { RequiredBytes = 16 << 20 },
                VolumeCapabilities = { capability },
                Secrets = { secrets },
            };
            var created = await TryAsync(() => controller.CreateVolumeAsync(create).ResponseAsync);
            await TryAsync(() => controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest
            {
                VolumeId = "vol-does-not-exist", NodeId = "node-secrets", VolumeCapability = capability, Secrets = { secrets },
            }).ResponseAsync);
            await TryAsync(() => controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest
            {
                VolumeId = "vol-does-not-exist", CapacityRange = new CapacityRange { RequiredBytes = 32 << 20 }, Secrets = { secrets },
            }).ResponseAsync);
            await TryAsync(() => controller.CreateSnapshotAsync(new CreateSnapshotRequest
            {
                Name = "snap-secret-test", SourceVolumeId = "vol-does-not-exist", Secrets = { secrets },
            }).ResponseAsync);
            await TryAsync(() => node.NodeStageVolumeAsync(new NodeStageVolumeRequest
            {
                VolumeId = "vol-does-not-exist", StagingTargetPath = dir.Path("staging"), VolumeCapability = capability, Secrets = { secrets },
            }).ResponseAsync);
            await TryAsync(() => node.NodePublishVolumeAsync(new NodePublishVolumeRequest
            {
                VolumeId = "vol-does-not-exist", StagingTargetPath = dir.Path("staging"), TargetPath = dir.Path("target"),
                VolumeCapability = capability, Secrets = { secrets },
            }).ResponseAsync);
            await TryAsync(() => controller.DeleteVolumeAsync(new DeleteVolumeRequest
            {
                VolumeId = created?.Volume?.VolumeId ?? "vol-does-not-exist", Secrets = { secrets },
            }).ResponseAsync);
        }

        var (stdout, stderr) = await driver.StopAsync();

        var output = stdout + "\n" + stderr;
        foreach (var value in secrets.Values)
        {
            Assert.DoesNotContain(value, output);
        }
        var calls = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ParseLine)
            // The per-call line is the one with a status code (an unexpected failure adds a separate error line).
            .Where(line => line.TryGetProperty("State", out var state) && state.TryGetProperty("Method", out _) && state.TryGetProperty("Code", out _))
            .Select(line => line.GetProperty("State"))
            .ToList();
        foreach (var method in new[] { "CreateVolume", "ControllerPublishVolume", "ControllerExpandVolume", "CreateSnapshot", "NodeStageVolume", "NodePublishVolume", "DeleteVolume" })
        {
            var call = Assert.Single(calls, c => c.GetProperty("Method").GetString() == method);
            Assert.False(string.IsNullOrEmpty(call.GetProperty("Code").GetString()));
            Assert.True(call.GetProperty("DurationMs").GetDouble() >= 0);
        }
        Assert.Equal("pvc-secret-test", calls.Single(c => c.GetProperty("Method").GetString() == "CreateVolume").GetProperty("Name").GetString());
        Assert.Equal("node-secrets", calls.Single(c => c.GetProperty("Method").GetString() == "ControllerPublishVolume").GetProperty("NodeId").GetString());
        Assert.Equal("vol-does-not-exist", calls.Single(c => c.GetProperty("Method").GetString() == "NodeStageVolume").GetProperty("VolumeId").GetString());
        // Identity calls log at Debug: their presence shows the run really logged below Information.
        Assert.Contains(calls, c => c.GetProperty("Method").GetString() == "Probe");
    }

    private static JsonElement ParseLine(string line)
    {
        try
        {
            return JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"--log-format json wrote a line that is not JSON: {line} ({ex.Message})");
        }
    }

    private static async Task<T?> TryAsync<T>(Func<Task<T>> call) where T : class
    {
        try
        {
            return await call();
        }
        catch (RpcException)
        {
            // The outcome does not matter here; the request went through the interceptor and was logged.
            return null;
        }
    }

    private static DriverProcess StartDriver(TestDirectory dir, string socket)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "csi-driver.dll"),
            "--endpoint", "unix://" + socket,
            "--mode", "all",
            "--backend", "local",
            "--state-dir", dir.Path("state"),
            "--node-id", "node-secrets",
            "--log-format", "json",
            "--log-level", "Trace",
        })
        {
            info.ArgumentList.Add(arg);
        }
        return new DriverProcess(Process.Start(info)!);
    }

    private static async Task WaitForSocketAsync(DriverProcess driver, string socket)
    {
        var deadline = Stopwatch.StartNew();
        while (!SocketEndpoint.IsServed(socket))
        {
            if (driver.Process.HasExited || deadline.Elapsed > StartTimeout)
            {
                var (stdout, stderr) = await driver.StopAsync();
                throw new Xunit.Sdk.XunitException($"csi-driver did not start serving {socket}:\n{stdout}\n{stderr}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>The child process and everything it wrote; disposing kills it if a test failed half-way.</summary>
    private sealed class DriverProcess : IDisposable
    {
        private readonly ConcurrentQueue<string> _stdout = new();
        private readonly ConcurrentQueue<string> _stderr = new();

        public DriverProcess(Process process)
        {
            Process = process;
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    _stdout.Enqueue(e.Data);
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    _stderr.Enqueue(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Process Process { get; }

        /// <summary>SIGTERM (a graceful stop flushes the console logger), then everything written.</summary>
        public async Task<(string Stdout, string Stderr)> StopAsync()
        {
            if (!Process.HasExited)
            {
                using (var kill = Process.Start("kill", ["-TERM", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    await kill.WaitForExitAsync();
                }
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
                try
                {
                    await Process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    Process.Kill();
                }
            }
            // Let the asynchronous readers drain what the process wrote last.
            Process.WaitForExit();
            return (string.Join("\n", _stdout), string.Join("\n", _stderr));
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
                Process.WaitForExit();
            }
            Process.Dispose();
        }
    }
}
