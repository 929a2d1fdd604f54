using System.Net.Sockets;
using Csi.V1;
using CsiDriver.Testing;

namespace CsiDriver.Host.Tests.Startup;

/// <summary>The csi-driver executable itself: socket handling, signals, command-line errors.</summary>
public sealed class DriverProcessStartupTests
{
    [Fact]
    public async Task A_stale_socket_file_left_by_a_dead_process_is_replaced()
    {
        using var dir = new TestDirectory("stale");
        var socketPath = dir.Path("csi.sock");
        // A socket file nobody listens on, as a killed driver leaves behind (bound, never listening).
        using var orphan = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        orphan.Bind(new UnixDomainSocketEndPoint(socketPath));
        Assert.True(File.Exists(socketPath));

        await using var driver = await DriverProcess.StartAsync(socketPath, "--state-dir", dir.Path("state"), "--node-id", "n1");

        var info = await driver.Identity.GetPluginInfoAsync(new GetPluginInfoRequest());
        Assert.Equal("block.csi.csidriver.io", info.Name);
    }

    [Fact]
    public async Task A_second_driver_refuses_to_start_on_a_live_socket_and_the_first_keeps_serving()
    {
        using var dir = new TestDirectory("live");
        var socketPath = dir.Path("csi.sock");
        await using var first = await DriverProcess.StartAsync(socketPath, "--state-dir", dir.Path("state"), "--node-id", "n1");

        var (exitCode, output) = await RunToExitAsync("--endpoint", socketPath, "--state-dir", dir.Path("state2"));

        Assert.Equal(2, exitCode);
        Assert.Contains("already serving", output, StringComparison.Ordinal);
        var probe = await first.Identity.ProbeAsync(new ProbeRequest());
        Assert.NotNull(probe);
    }

    [Fact]
    public async Task Sigterm_stops_the_driver_cleanly_and_removes_its_socket()
    {
        using var dir = new TestDirectory("term");
        var socketPath = dir.Path("csi.sock");
        await using var driver = await DriverProcess.StartAsync(socketPath, "--state-dir", dir.Path("state"), "--node-id", "n1");

        var exitCode = await driver.TerminateAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exitCode);
        Assert.False(File.Exists(socketPath), "the socket file should be removed on shutdown");
    }

    [Theory]
    [InlineData("--endpoint", "tcp://127.0.0.1:10000", "--endpoint must be unix:///path")]
    [InlineData("--endpoint", "relative/csi.sock", "absolute path")]
    [InlineData("--driver-name", "-bad-name-", "--driver-name")]
    [InlineData("--log-level", "Loud", "--log-level")]
    [InlineData("--mode", "sideways", "sideways")]
    [InlineData("--state-dir", "relative/state", "--state-dir")]
    [InlineData("--extra-tags", "novalue", "--extra-tags")]
    [InlineData("--kubelet-dir", "relative/kubelet", "--kubelet-dir")]
    [InlineData("--allowed-path-root", "/", "--allowed-path-root")]
    [InlineData("--allowed-path-root", "/proc/1", "--allowed-path-root")]
    [InlineData("--node-state-dir", "relative/node-state", "--node-state-dir")]
    public async Task Bad_options_exit_with_code_2_and_say_what_is_wrong(string option, string value, string expected)
    {
        using var dir = new TestDirectory("opts");
        string[] args = option == "--endpoint"
            ? [option, value]
            : ["--endpoint", dir.Path("csi.sock"), option, value];

        var (exitCode, output) = await RunToExitAsync(args);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, output, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Path("csi.sock")), "nothing may be served after a configuration error");
    }

    [Fact]
    public async Task A_metrics_port_already_taken_stops_the_driver_with_a_plain_error()
    {
        using var dir = new TestDirectory("port");
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, output) = await RunToExitAsync(
            "--endpoint", dir.Path("csi.sock"), "--state-dir", dir.Path("state"), "--metrics-address", $"127.0.0.1:{port}");

        Assert.Equal(1, exitCode);
        Assert.Contains($"csi-driver: ", output, StringComparison.Ordinal);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_documents_every_option()
    {
        var (exitCode, output) = await RunToExitAsync("--help");

        Assert.Equal(0, exitCode);
        foreach (var option in new[]
                 {
                     "--endpoint", "--mode", "--driver-name", "--node-id", "--backend", "--state-dir", "--log-format",
                     "--log-level", "--metrics-address", "--volume-attach-limit", "--region", "--aws-ec2-endpoint",
                     "--extra-tags", "--metadata-sources", "--kubelet-dir", "--allowed-path-root", "--node-state-dir",
                 })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunToExitAsync(params string[] arguments)
    {
        var (exitCode, stdout, stderr) = await DotnetTool.RunAsync("csi-driver.dll", arguments);
        return (exitCode, stdout + stderr);
    }
}
