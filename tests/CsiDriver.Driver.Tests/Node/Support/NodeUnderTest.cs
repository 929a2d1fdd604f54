using CsiDriver.Core;
using CsiDriver.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Driver.Tests.Node.Support;

/// <summary>
/// The node half of the set-up node tests share: a scratch directory and the real node driver on it with the test
/// device finder. Disposing stops the driver, then the directory cleans up what is mounted below it and detaches the
/// loop devices backed below it, also when the test failed. <see cref="NodeTestVolume"/> adds a loop device and paths.
/// </summary>
public sealed class NodeUnderTest : IAsyncDisposable
{
    private NodeUnderTest(TestDirectory dir, TestDeviceFinder finder, RunningDriver driver)
    {
        Dir = dir;
        Finder = finder;
        Driver = driver;
    }

    public TestDirectory Dir { get; }

    public TestDeviceFinder Finder { get; }

    public RunningDriver Driver { get; }

    public Csi.V1.Node.NodeClient Node => Driver.Node;

    public static async Task<NodeUnderTest> StartAsync(
        string name, long volumeAttachLimit = 0, Action<TestDirectory, IServiceCollection>? configureServices = null,
        Action<TestDirectory, DriverOptions>? configure = null)
    {
        var dir = new TestDirectory(name);
        try
        {
            var finder = new TestDeviceFinder();
            var driver = await NodeTestDriver.StartAsync(dir, finder, volumeAttachLimit,
                configureServices is null ? null : services => configureServices(dir, services),
                configure is null ? null : options => configure(dir, options));
            return new NodeUnderTest(dir, finder, driver);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Driver.DisposeAsync();
        }
        finally
        {
            Dir.Dispose();
        }
    }
}
