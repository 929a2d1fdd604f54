using Csi.V1;
using CsiDriver.Testing;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;

namespace CsiDriver.Driver.Tests.Node.Support;

/// <summary>
/// The set-up most node tests share: a scratch directory, the real node driver on it (with the test device finder),
/// one loop device, a staging directory (created, unless a test checks that staging creates it) and a target path
/// publish creates. Disposing stops the driver,
/// then the directory cleans up what is mounted below it and detaches the loop device, also when the test failed.
/// </summary>
public sealed class NodeTestVolume : IAsyncDisposable
{
    private NodeTestVolume(TestDirectory dir, TestDeviceFinder finder, RunningDriver driver, LoopDevice loop, bool createStaging)
    {
        Dir = dir;
        Finder = finder;
        Driver = driver;
        Loop = loop;
        Staging = createStaging ? Directory.CreateDirectory(dir.Path("staging")).FullName : dir.Path("staging");
        Target = dir.Path("target");
    }

    public TestDirectory Dir { get; }

    public TestDeviceFinder Finder { get; }

    public RunningDriver Driver { get; }

    public LoopDevice Loop { get; }

    public string Staging { get; }

    public string Target { get; }

    public static async Task<NodeTestVolume> StartAsync(string name, long sizeBytes, bool createStaging = true)
    {
        var dir = new TestDirectory(name);
        try
        {
            var finder = new TestDeviceFinder();
            var driver = await NodeTestDriver.StartAsync(dir, finder);
            try
            {
                return new NodeTestVolume(dir, finder, driver, LoopDevice.Create(dir, sizeBytes), createStaging);
            }
            catch
            {
                await driver.DisposeAsync();
                throw;
            }
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    /// <summary>NodeStageVolume of this loop device at the staging directory, as kubelet sends it.</summary>
    public async Task StageAsync(string volumeId, VolumeCapability capability) =>
        await Driver.Node.NodeStageVolumeAsync(Stage(volumeId, Loop.Device, Staging, capability));

    /// <summary>NodePublishVolume of this loop device from the staging directory to the target path.</summary>
    public async Task PublishAsync(string volumeId, VolumeCapability capability, bool readOnly = false) =>
        await Driver.Node.NodePublishVolumeAsync(Publish(volumeId, Loop.Device, Staging, Target, capability, readOnly));

    public void Deconstruct(out TestDirectory dir, out TestDeviceFinder finder, out RunningDriver driver, out LoopDevice loop, out string staging, out string target)
    {
        dir = Dir;
        finder = Finder;
        driver = Driver;
        loop = Loop;
        staging = Staging;
        target = Target;
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
