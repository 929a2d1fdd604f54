using System.Collections.Concurrent;
using System.Net;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Cloud.Aws.Snapshots;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests;

/// <summary>
/// A Moq IAmazonEC2 whose Describe* calls answer from in-memory state (filters by id and tag, as the
/// provider sends them), plus the provider and its parts built on it with millisecond poll intervals.
/// Tests add setups for the mutating calls they exercise.
/// </summary>
public sealed class Ec2Mock : IDisposable
{
    public Ec2Mock(AwsTuning? tuning = null)
    {
        Tuning = tuning ?? FastTuning();
        Mock.Setup(c => c.DescribeVolumesAsync(It.IsAny<DescribeVolumesRequest>(), It.IsAny<CancellationToken>()))
            .Returns(async (DescribeVolumesRequest r, CancellationToken _) =>
            {
                if (DescribeLatency > TimeSpan.Zero)
                {
                    await Task.Delay(DescribeLatency);
                }
                if (DescribeVolumesError is { } error)
                {
                    throw error;
                }
                return new DescribeVolumesResponse { Volumes = [.. Volumes.Values.Where(v => Matches(r.Filters, v.VolumeId, v.Tags))] };
            });
        Mock.Setup(c => c.DescribeSnapshotsAsync(It.IsAny<DescribeSnapshotsRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DescribeSnapshotsRequest r, CancellationToken _) => Task.FromResult(new DescribeSnapshotsResponse
            {
                Snapshots = [.. Snapshots.Values.Where(s => Matches(r.Filters, s.SnapshotId, s.Tags, s.VolumeId))],
            }));
        Mock.Setup(c => c.DescribeInstancesAsync(It.IsAny<DescribeInstancesRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DescribeInstancesRequest r, CancellationToken _) => Task.FromResult(new DescribeInstancesResponse
            {
                Reservations = [new Reservation { Instances = [.. Instances.Values.Where(i => Matches(r.Filters, i.InstanceId, i.Tags))] }],
            }));
        Mock.Setup(c => c.DescribeVolumesModificationsAsync(It.IsAny<DescribeVolumesModificationsRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DescribeVolumesModificationsRequest r, CancellationToken _) => Task.FromResult(new DescribeVolumesModificationsResponse
            {
                VolumesModifications = [.. Modifications.Values.Where(m => Matches(r.Filters, m.VolumeId, null))],
            }));

        Caller = new Ec2Caller(Mock.Object, Metrics, NullLogger<Ec2Caller>.Instance);
        Pollers = new Ec2Pollers(Caller, Tuning, Metrics, NullLogger<Ec2Pollers>.Instance);
        Devices = new DeviceNameAllocator();
        Attachments = new AttachmentManager(Caller, Pollers, Devices, NullLogger<AttachmentManager>.Instance);
        Snapshots_ = new SnapshotManager(Caller, Pollers, Microsoft.Extensions.Options.Options.Create(Options), Microsoft.Extensions.Options.Options.Create(DriverOptions), NullLogger<SnapshotManager>.Instance);
        Coalescer = new ModificationCoalescer(Caller, Pollers, Microsoft.Extensions.Options.Options.Create(new AwsBackendOptions { Tuning = Tuning }), NullLogger<ModificationCoalescer>.Instance);
        Provider = new EbsVolumeProvider(Caller, Pollers, Attachments, Snapshots_, Coalescer, Metadata.Object, Microsoft.Extensions.Options.Options.Create(Options), Microsoft.Extensions.Options.Options.Create(DriverOptions),
            NullLogger<EbsVolumeProvider>.Instance);
        Metadata.Setup(m => m.GetAsync(It.IsAny<CancellationToken>()))
            .ReturnsAsync(new InstanceMetadata("i-controller", "us-east-1", "us-east-1a", "use1-az1", "m5.large", null));
    }

    public Mock<IAmazonEC2> Mock { get; } = new(MockBehavior.Loose);
    public Mock<IInstanceMetadataProvider> Metadata { get; } = new();
    public AwsTuning Tuning { get; }
    public AwsBackendOptions Options { get; } = new() { ExtraTags = new Dictionary<string, string> { ["team"] = "storage" } };
    public DriverOptions DriverOptions { get; } = new() { DriverName = "block.csi.test" };
    public DriverMetrics Metrics { get; } = new();
    public Ec2Caller Caller { get; }
    public Ec2Pollers Pollers { get; }
    public DeviceNameAllocator Devices { get; }
    public AttachmentManager Attachments { get; }
    public SnapshotManager Snapshots_ { get; }
    public ModificationCoalescer Coalescer { get; }
    public EbsVolumeProvider Provider { get; }

    public ConcurrentDictionary<string, Volume> Volumes { get; } = new();
    public ConcurrentDictionary<string, Snapshot> Snapshots { get; } = new();
    public ConcurrentDictionary<string, Instance> Instances { get; } = new();
    public ConcurrentDictionary<string, VolumeModification> Modifications { get; } = new();

    /// <summary>How long each DescribeVolumes takes (a real one takes tens of milliseconds).</summary>
    public TimeSpan DescribeLatency { get; set; }

    /// <summary>When set, every DescribeVolumes fails with it.</summary>
    public Exception? DescribeVolumesError { get; set; }

    public static AwsTuning FastTuning() => new()
    {
        PollInitialInterval = TimeSpan.FromMilliseconds(5),
        PollMaxInterval = TimeSpan.FromMilliseconds(20),
        NotFoundGrace = TimeSpan.FromMilliseconds(300),
        WaitTimeout = TimeSpan.FromSeconds(10),
        ModifyCoalesceWindow = TimeSpan.FromMilliseconds(100),
    };

    public int Calls(string method) => Mock.Invocations.Count(i => i.Method.Name == method + "Async");

    public Volume AddVolume(string id, int sizeGiB = 10, string type = "gp3", string zone = "us-east-1a", string? name = null, bool multiAttach = false)
    {
        var volume = new Volume
        {
            VolumeId = id,
            Size = sizeGiB,
            VolumeType = VolumeType.FindValue(type),
            AvailabilityZone = zone,
            State = VolumeState.Available,
            Iops = type == "gp3" ? 3000 : null,
            Throughput = type == "gp3" ? 125 : null,
            MultiAttachEnabled = multiAttach,
            Attachments = [],
            Tags = name is null ? [] : [new Tag(EbsTags.VolumeName, name)],
        };
        Volumes[id] = volume;
        return volume;
    }

    public Instance AddInstance(string id, string zone = "us-east-1a", params string[] devices)
    {
        var instance = new Instance
        {
            InstanceId = id,
            State = new InstanceState { Name = InstanceStateName.Running },
            Placement = new Placement { AvailabilityZone = zone },
            BlockDeviceMappings = [new InstanceBlockDeviceMapping { DeviceName = "/dev/xvda" }, .. devices.Select(d => new InstanceBlockDeviceMapping { DeviceName = d })],
        };
        Instances[id] = instance;
        return instance;
    }

    /// <summary>AttachVolume / DetachVolume that take effect at once in the state (attached / removed).</summary>
    public void SetupImmediateAttachDetach()
    {
        Mock.Setup(c => c.AttachVolumeAsync(It.IsAny<AttachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((AttachVolumeRequest r, CancellationToken _) =>
            {
                lock (Volumes)
                {
                    var volume = Volumes[r.VolumeId];
                    volume.Attachments = [.. volume.Attachments ?? [], new VolumeAttachment { InstanceId = r.InstanceId, Device = r.Device, VolumeId = r.VolumeId, State = VolumeAttachmentState.Attached }];
                    var instance = Instances[r.InstanceId];
                    instance.BlockDeviceMappings = [.. instance.BlockDeviceMappings ?? [], new InstanceBlockDeviceMapping { DeviceName = r.Device }];
                }
                return Task.FromResult(new AttachVolumeResponse());
            });
        Mock.Setup(c => c.DetachVolumeAsync(It.IsAny<DetachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DetachVolumeRequest r, CancellationToken _) =>
            {
                lock (Volumes)
                {
                    var volume = Volumes[r.VolumeId];
                    volume.Attachments = [.. (volume.Attachments ?? []).Where(a => a.InstanceId != r.InstanceId)];
                }
                return Task.FromResult(new DetachVolumeResponse());
            });
    }

    public static AmazonEC2Exception Error(string code, string message = "error", HttpStatusCode status = HttpStatusCode.BadRequest) =>
        new(message, ErrorType.Sender, code, "req-1", status);

    private static bool Matches(List<Filter>? filters, string id, List<Tag>? tags, string? volumeId = null)
    {
        foreach (var filter in filters ?? [])
        {
            var values = filter.Values ?? [];
            var ok = filter.Name switch
            {
                "volume-id" when volumeId is not null => values.Contains(volumeId),
                "volume-id" or "snapshot-id" or "instance-id" => values.Contains(id),
                "tag-key" => (tags ?? []).Any(t => values.Contains(t.Key)),
                _ when filter.Name.StartsWith("tag:", StringComparison.Ordinal) =>
                    (tags ?? []).Any(t => t.Key == filter.Name[4..] && values.Contains(t.Value)),
                _ => throw new InvalidOperationException($"filter {filter.Name} not understood by the mock"),
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    public void Dispose() => Metrics.Dispose();
}
