using System.Text.Json;
using CsiDriver.Testing;

namespace CsiDriver.Cli.Tests;

/// <summary>csictl as an operator runs it: a separate process against a real driver's socket.</summary>
public sealed class CsictlTests
{
    [Fact]
    public async Task Walks_a_volume_through_create_attach_and_delete_printing_each_response_as_json()
    {
        using var dir = new TestDirectory("csictl");
        await using var driver = await RunningDriver.StartLocalAsync(dir);
        var endpoint = driver.Configuration.Driver.Endpoint;

        var info = await RunAsync(endpoint, "identity", "info");
        Assert.Equal(0, info.ExitCode);
        Assert.Equal("block.csi.csidriver.io", Json(info.Stdout).GetProperty("name").GetString());

        var created = await RunAsync(endpoint, "controller", "create-volume", "--name", "pvc-cli", "--size", "64Mi", "--fs-type", "xfs",
            "--param", "blockSize=4096");
        Assert.Equal(0, created.ExitCode);
        var volume = Json(created.Stdout).GetProperty("volume");
        var volumeId = volume.GetProperty("volumeId").GetString()!;
        Assert.Equal((64L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), volume.GetProperty("capacityBytes").GetString());

        var published = await RunAsync(endpoint, "controller", "publish", volumeId, "--node-id", "test-node", "--fs-type", "xfs");
        Assert.Equal(0, published.ExitCode);
        Assert.StartsWith(dir.Root, Json(published.Stdout).GetProperty("publishContext").GetProperty("devicePath").GetString(), StringComparison.Ordinal);

        var listed = await RunAsync(endpoint, "controller", "list-volumes");
        var entry = Json(listed.Stdout).GetProperty("entries")[0];
        Assert.Equal("test-node", entry.GetProperty("status").GetProperty("publishedNodeIds")[0].GetString());

        Assert.Equal(0, (await RunAsync(endpoint, "controller", "unpublish", volumeId, "--node-id", "test-node")).ExitCode);
        Assert.Equal(0, (await RunAsync(endpoint, "controller", "delete-volume", volumeId)).ExitCode);
        Assert.Empty(TestDirectory.LoopDevicesBackedBelow(dir.Root + "/"));
    }

    [Fact]
    public async Task A_driver_error_exits_1_and_prints_the_status_code_and_message()
    {
        using var dir = new TestDirectory("csictl-err");
        await using var driver = await RunningDriver.StartLocalAsync(dir);

        var result = await RunAsync(driver.Configuration.Driver.Endpoint, "controller", "create-volume", "--name", "pvc-bad", "--param", "colour=blue");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: InvalidArgument:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("colour", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--size", "lots", "is not a size")]
    [InlineData("--param", "novalue", "is not key=value")]
    [InlineData("--access-mode", "everyone", "unknown access mode")]
    public async Task Bad_command_line_input_exits_2_without_calling_the_driver(string option, string value, string expected)
    {
        using var dir = new TestDirectory("csictl-input");
        await using var driver = await RunningDriver.StartLocalAsync(dir);

        var result = await RunAsync(driver.Configuration.Driver.Endpoint, "controller", "create-volume", "--name", "pvc-x", option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        var listed = await RunAsync(driver.Configuration.Driver.Endpoint, "controller", "list-volumes");
        Assert.False(Json(listed.Stdout).TryGetProperty("entries", out _), "no volume may have been created");
    }

    [Fact]
    public async Task An_endpoint_nobody_serves_is_reported_as_unavailable()
    {
        using var dir = new TestDirectory("csictl-down");

        var result = await RunAsync("unix://" + dir.Path("nobody.sock"), "identity", "probe", "--timeout", "5");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Unavailable", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("does not exist", result.Stderr, StringComparison.Ordinal);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string endpoint, params string[] arguments) =>
        DotnetTool.RunAsync("csictl.dll", ["--endpoint", endpoint, .. arguments]);
}
