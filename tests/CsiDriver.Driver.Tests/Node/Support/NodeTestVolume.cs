using Csi.V1;
using CsiDriver.Core;
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
    private readonly NodeUnderTest _node;

    private NodeTestVolume(NodeUnderTest node, LoopDevice loop, bool createStaging)
    {
        _node = node;
        Loop = loop;
        Staging = createStaging ? Directory.CreateDirectory(node.Dir.Path("staging")).FullName : node.Dir.Path("staging");
        Target = node.Dir.Path("target");
    }

    public TestDirectory Dir => _node.Dir;

    public TestDeviceFinder Finder => _node.Finder;

    public RunningDriver Driver => _node.Driver;

    public LoopDevice Loop { get; }

    public string Staging { get; }

    public string Target { get; }

    /// <param name="configure">Changes the node driver's options before it starts (kubelet directory, allowed roots).</param>
    public static async Task<NodeTestVolume> StartAsync(
        string name, long sizeBytes, bool createStaging = true, Action<TestDirectory, DriverOptions>? configure = null)
    {
        var node = await NodeUnderTest.StartAsync(name, configure: configure);
        try
        {
            return new NodeTestVolume(node, LoopDevice.Create(node.Dir, sizeBytes), createStaging);
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>NodeStageVolume of this loop device at the staging directory, as kubelet sends it.</summary>
    public async Task StageAsync(string volumeId, VolumeCapability capability) =>
        await Driver.Node.NodeStageVolumeAsync(Stage(volumeId, Loop.Device, Staging, capability));

    /// <summary>NodePublishVolume of this loop device from the staging directory to the target path.</summary>
    public async Task PublishAsync(string volumeId, VolumeCapability capability, bool readOnly = false) =>
        await Driver.Node.NodePublishVolumeAsync(Publish(volumeId, Loop.Device, Staging, Target, capability, readOnly));

    /// <summary>Stage then publish, as kubelet mounts a volume for a pod.</summary>
    public async Task StageAndPublishAsync(string volumeId, VolumeCapability capability)
    {
        await StageAsync(volumeId, capability);
        await PublishAsync(volumeId, capability);
    }

    public void Deconstruct(out TestDirectory dir, out TestDeviceFinder finder, out RunningDriver driver, out LoopDevice loop, out string staging, out string target)
    {
        dir = Dir;
        finder = Finder;
        driver = Driver;
        loop = Loop;
        staging = Staging;
        target = Target;
    }

    public ValueTask DisposeAsync() => _node.DisposeAsync();
}
