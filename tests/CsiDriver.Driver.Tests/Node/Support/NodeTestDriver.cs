using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using CsiDriver.Core.Volumes;
using CsiDriver.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Driver.Tests.Node.Support;

/// <summary>
/// Finds a volume's device the simplest way: publish_context {"devicePath": "/dev/loopN"} set by the test, and
/// remembered per volume as a backend would know it, for the calls that carry no publish_context (unstage,
/// unpublish, expand, stats prove a mount is the volume's by its device). A test can hold calls at the door (Gate)
/// to line up concurrent operations deterministically.
/// </summary>
public sealed class TestDeviceFinder : IDeviceFinder
{
    public const string DevicePathKey = "devicePath";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _attached = new(StringComparer.Ordinal);

    public Func<string, Task>? Gate { get; set; }

    /// <summary>Makes the volume's device known without a call carrying it, as a backend knows its attachments.</summary>
    public void Attach(string volumeId, string devicePath) => _attached[volumeId] = devicePath;

    /// <summary>The backend no longer finds the volume's device (detached under a live mount, or its link is gone).</summary>
    public void Forget(string volumeId) => _attached.TryRemove(volumeId, out _);

    public async Task<string> FindDeviceAsync(string volumeId, IReadOnlyDictionary<string, string> publishContext, CancellationToken cancellationToken)
    {
        if (publishContext.Count > 0 && Gate is { } gate)
        {
            await gate(volumeId);
        }
        if (publishContext.TryGetValue(DevicePathKey, out var path) && File.Exists(path))
        {
            _attached[volumeId] = path;
            return path;
        }
        if (publishContext.Count > 0)
        {
            throw StorageException.NotFound($"volume {volumeId} is not attached to this node");
        }
        return publishContext.Count == 0 && _attached.TryGetValue(volumeId, out var known) && File.Exists(known)
            ? known
            : throw StorageException.NotFound($"volume {volumeId} is not attached to this node");
    }
}

public sealed class TestNodeIdentity : INodeIdentityProvider
{
    public const string ZoneKey = "topology.kubernetes.io/zone";

    public Task<NodeIdentity> GetAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new NodeIdentity("test-node", 17, new TopologySegments { [ZoneKey] = "zone-a" }));
}

/// <summary>The real driver in node mode on a unix socket, with the test device finder and identity.</summary>
public static class NodeTestDriver
{
    public static Task<RunningDriver> StartAsync(
        TestDirectory dir, TestDeviceFinder finder, long volumeAttachLimit = 0, Action<IServiceCollection>? configureServices = null,
        Action<DriverOptions>? configure = null)
    {
        var configuration = RunningDriver.LocalConfiguration(dir, DriverMode.Node);
        configuration.Driver.VolumeAttachLimit = volumeAttachLimit;
        configure?.Invoke(configuration.Driver);
        return RunningDriver.StartAsync(configuration, configureServices: services =>
        {
            services.AddSingleton<IDeviceFinder>(finder);
            services.AddSingleton<INodeIdentityProvider, TestNodeIdentity>();
            configureServices?.Invoke(services);
        });
    }
}

/// <summary>Builds Node requests for a loop device the way kubelet would send them.</summary>
public static class NodeRequests
{
    public static VolumeCapability Mount(string fsType = "", VolumeCapability.Types.AccessMode.Types.Mode mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter, params string[] flags)
    {
        var mount = new VolumeCapability.Types.MountVolume { FsType = fsType };
        mount.MountFlags.Add(flags);
        return new VolumeCapability { Mount = mount, AccessMode = new VolumeCapability.Types.AccessMode { Mode = mode } };
    }

    public static VolumeCapability Block(VolumeCapability.Types.AccessMode.Types.Mode mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter) =>
        new() { Block = new VolumeCapability.Types.BlockVolume(), AccessMode = new VolumeCapability.Types.AccessMode { Mode = mode } };

    public static NodeStageVolumeRequest Stage(string volumeId, string device, string stagingPath, VolumeCapability capability, IDictionary<string, string>? volumeContext = null)
    {
        var request = new NodeStageVolumeRequest { VolumeId = volumeId, StagingTargetPath = stagingPath, VolumeCapability = capability };
        request.PublishContext[TestDeviceFinder.DevicePathKey] = device;
        if (volumeContext is not null)
        {
            request.VolumeContext.Add(volumeContext);
        }
        return request;
    }

    public static NodePublishVolumeRequest Publish(string volumeId, string device, string stagingPath, string targetPath, VolumeCapability capability, bool readOnly = false)
    {
        var request = new NodePublishVolumeRequest
        {
            VolumeId = volumeId,
            StagingTargetPath = stagingPath,
            TargetPath = targetPath,
            VolumeCapability = capability,
            Readonly = readOnly,
        };
        request.PublishContext[TestDeviceFinder.DevicePathKey] = device;
        return request;
    }

    public static NodeUnpublishVolumeRequest Unpublish(string volumeId, string targetPath) => new() { VolumeId = volumeId, TargetPath = targetPath };

    public static NodeUnstageVolumeRequest Unstage(string volumeId, string stagingPath) => new() { VolumeId = volumeId, StagingTargetPath = stagingPath };
}
