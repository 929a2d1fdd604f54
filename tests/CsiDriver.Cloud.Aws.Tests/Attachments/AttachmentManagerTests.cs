using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Testing;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests.Attachments;

[Trait("Category", "Unit")]
public sealed class AttachmentManagerTests : IDisposable
{
    private static readonly VolumeCapabilitySpec Mount = new(AccessType.Mount, AccessMode.SingleNodeWriter, "ext4", []);
    private static readonly VolumeCapabilitySpec BlockMulti = new(AccessType.Block, AccessMode.MultiNodeMultiWriter, "", []);

    private readonly Ec2Mock _ec2 = new();

    public AttachmentManagerTests() => _ec2.SetupImmediateAttachDetach();

    public void Dispose() => _ec2.Dispose();

    private static PublishSpec Publish(string volumeId, string nodeId, VolumeCapabilitySpec? capability = null) =>
        new(volumeId, nodeId, capability ?? Mount, false, new Dictionary<string, string>());

    [Fact]
    public async Task Publish_attaches_with_a_free_device_name_and_waits()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1", devices: "/dev/xvdba");

        var context = await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        Assert.Equal("/dev/xvdbb", context[AttachmentManager.DevicePathKey]);
        _ec2.Mock.Verify(c => c.AttachVolumeAsync(It.Is<AttachVolumeRequest>(r => r.VolumeId == "vol-1" && r.InstanceId == "i-1" && r.Device == "/dev/xvdbb"),
            It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task Publish_waits_while_the_attachment_is_attaching()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");
        VolumeAttachment? attachment = null;
        var describesAtAttach = -1;
        _ec2.Mock.Setup(c => c.AttachVolumeAsync(It.IsAny<AttachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((AttachVolumeRequest r, CancellationToken ct) =>
            {
                attachment = new VolumeAttachment { InstanceId = r.InstanceId, Device = r.Device, State = VolumeAttachmentState.Attaching };
                _ec2.Volumes[r.VolumeId].Attachments = [attachment];
                describesAtAttach = _ec2.Calls("DescribeVolumes");
                return Task.FromResult(new AttachVolumeResponse());
            });

        var publish = _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);
        await Eventually.HoldsAsync(() => describesAtAttach >= 0 && _ec2.Calls("DescribeVolumes") >= describesAtAttach + 2, "two polls after the attach");
        Assert.False(publish.IsCompleted, "two polls saw the attachment attaching; publish must still wait");
        attachment!.State = VolumeAttachmentState.Attached;

        Assert.Equal("/dev/xvdba", (await publish)[AttachmentManager.DevicePathKey]);
    }

    [Fact]
    public async Task Publish_to_the_same_node_again_is_success_without_a_second_attach()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");

        var first = await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);
        var second = await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        Assert.Equal(first[AttachmentManager.DevicePathKey], second[AttachmentManager.DevicePathKey]);
        Assert.Equal(1, _ec2.Calls("AttachVolume"));
    }

    [Fact]
    public async Task Publish_to_another_node_of_a_single_attach_volume_is_failed_precondition()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");
        _ec2.AddInstance("i-2");
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.PublishAsync(Publish("vol-1", "i-2"), CancellationToken.None));

        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
        Assert.Contains("i-1", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, _ec2.Calls("AttachVolume"));
    }

    [Fact]
    public async Task Multi_attach_io2_block_volume_attaches_to_several_nodes()
    {
        _ec2.AddVolume("vol-1", 10, "io2", multiAttach: true);
        _ec2.AddInstance("i-1");
        _ec2.AddInstance("i-2");

        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1", BlockMulti), CancellationToken.None);
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-2", BlockMulti), CancellationToken.None);

        Assert.Equal(2, _ec2.Volumes["vol-1"].Attachments.Count);
    }

    [Fact]
    public async Task Unknown_volume_or_node_is_not_found()
    {
        _ec2.AddVolume("vol-1");

        Assert.Equal(FailureKind.NotFound, (await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.PublishAsync(Publish("vol-missing", "i-1"), CancellationToken.None))).Kind);
        Assert.Equal(FailureKind.NotFound, (await Assert.ThrowsAsync<StorageException>(() =>
            _ec2.Provider.PublishAsync(Publish("vol-1", "i-missing"), CancellationToken.None))).Kind);
    }

    [Fact]
    public async Task Volume_in_another_zone_is_failed_precondition()
    {
        _ec2.AddVolume("vol-1", zone: "us-east-1b");
        _ec2.AddInstance("i-1", zone: "us-east-1a");

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None));

        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
        Assert.Equal(0, _ec2.Calls("AttachVolume"));
    }

    [Fact]
    public async Task Concurrent_attaches_to_one_node_never_share_a_device_name()
    {
        _ec2.AddInstance("i-1");
        for (var i = 0; i < 25; i++)
        {
            _ec2.AddVolume($"vol-{i}");
        }
        var devices = new List<string>();
        // A real DescribeInstances takes a while; attaches arriving meanwhile share the next one.
        _ec2.Mock.Setup(c => c.DescribeInstancesAsync(It.IsAny<DescribeInstancesRequest>(), It.IsAny<CancellationToken>()))
            .Returns(async (DescribeInstancesRequest r, CancellationToken ct) =>
            {
                await Task.Delay(20, ct);
                return new DescribeInstancesResponse { Reservations = [new Reservation { Instances = [_ec2.Instances["i-1"]] }] };
            });
        _ec2.Mock.Setup(c => c.AttachVolumeAsync(It.IsAny<AttachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns(async (AttachVolumeRequest r, CancellationToken _) =>
            {
                lock (devices)
                {
                    // EC2 itself refuses a name already in use on the instance.
                    Assert.DoesNotContain(r.Device, devices);
                    devices.Add(r.Device);
                }
                await Task.Delay(10);
                lock (_ec2.Volumes)
                {
                    _ec2.Volumes[r.VolumeId].Attachments = [new VolumeAttachment { InstanceId = r.InstanceId, Device = r.Device, State = VolumeAttachmentState.Attached }];
                }
                return new AttachVolumeResponse();
            });

        var contexts = await Task.WhenAll(Enumerable.Range(0, 25).Select(i => _ec2.Provider.PublishAsync(Publish($"vol-{i}", "i-1"), CancellationToken.None)));

        Assert.Equal(25, contexts.Select(c => c[AttachmentManager.DevicePathKey]).Distinct().Count());
        // One DescribeInstances answer served many attaches.
        Assert.True(_ec2.Calls("DescribeInstances") < 25);
    }

    [Fact]
    public async Task Attachment_limit_is_resource_exhausted_and_frees_the_name()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");
        _ec2.Mock.Setup(c => c.AttachVolumeAsync(It.IsAny<AttachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("AttachmentLimitExceeded"));

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None));

        Assert.Equal(FailureKind.ResourceExhausted, error.Kind);
        Assert.Null(_ec2.Devices.Reserved("i-1", "vol-1"));
    }

    [Fact]
    public async Task Device_name_taken_behind_our_back_is_retried_with_another()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");
        var attempts = new List<string>();
        _ec2.Mock.Setup(c => c.AttachVolumeAsync(It.IsAny<AttachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((AttachVolumeRequest r, CancellationToken _) =>
            {
                attempts.Add(r.Device);
                if (attempts.Count == 1)
                {
                    return Task.FromException<AttachVolumeResponse>(Ec2Mock.Error("InvalidParameterValue", $"Invalid value '{r.Device}' for unixDevice. Attachment point {r.Device} is already in use"));
                }
                _ec2.Volumes[r.VolumeId].Attachments = [new VolumeAttachment { InstanceId = r.InstanceId, Device = r.Device, State = VolumeAttachmentState.Attached }];
                return Task.FromResult(new AttachVolumeResponse());
            });

        var context = await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        Assert.Equal(2, attempts.Count);
        Assert.NotEqual(attempts[0], attempts[1]);
        Assert.Equal(attempts[1], context[AttachmentManager.DevicePathKey]);
    }

    [Fact]
    public async Task Unpublish_detaches_waits_and_frees_the_name()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        await _ec2.Provider.UnpublishAsync("vol-1", "i-1", CancellationToken.None);

        Assert.Empty(_ec2.Volumes["vol-1"].Attachments);
        Assert.Null(_ec2.Devices.Reserved("i-1", "vol-1"));
        Assert.Equal(1, _ec2.Calls("DetachVolume"));
    }

    [Fact]
    public async Task Unpublish_waits_for_detaching_to_finish()
    {
        var volume = _ec2.AddVolume("vol-1");
        var attachment = new VolumeAttachment { InstanceId = "i-1", Device = "/dev/xvdba", State = VolumeAttachmentState.Attached };
        volume.Attachments = [attachment];
        var describesAtDetach = -1;
        _ec2.Mock.Setup(c => c.DetachVolumeAsync(It.IsAny<DetachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns(() =>
            {
                attachment.State = VolumeAttachmentState.Detaching;
                describesAtDetach = _ec2.Calls("DescribeVolumes");
                return Task.FromResult(new DetachVolumeResponse());
            });

        var unpublish = _ec2.Provider.UnpublishAsync("vol-1", "i-1", CancellationToken.None);
        await Eventually.HoldsAsync(() => describesAtDetach >= 0 && _ec2.Calls("DescribeVolumes") >= describesAtDetach + 2, "two polls after the detach");
        Assert.False(unpublish.IsCompleted, "two polls saw the volume detaching; unpublish must still wait");
        volume.Attachments = [];
        await unpublish;
    }

    [Fact]
    public async Task Unpublish_of_deleted_volume_is_success()
    {
        await _ec2.Provider.UnpublishAsync("vol-deleted", "i-1", CancellationToken.None);

        Assert.Equal(0, _ec2.Calls("DetachVolume"));
    }

    [Fact]
    public async Task Unpublish_of_detached_volume_is_success()
    {
        _ec2.AddVolume("vol-1");

        await _ec2.Provider.UnpublishAsync("vol-1", "i-1", CancellationToken.None);

        Assert.Equal(0, _ec2.Calls("DetachVolume"));
    }

    [Fact]
    public async Task Detach_racing_with_another_detach_is_success()
    {
        var volume = _ec2.AddVolume("vol-1");
        volume.Attachments = [new VolumeAttachment { InstanceId = "i-1", Device = "/dev/xvdba", State = VolumeAttachmentState.Attached }];
        _ec2.Mock.Setup(c => c.DetachVolumeAsync(It.IsAny<DetachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns(() =>
            {
                volume.Attachments = [];
                return Task.FromException<DetachVolumeResponse>(Ec2Mock.Error("IncorrectState", "Volume 'vol-1' is in the 'available' state."));
            });

        await _ec2.Provider.UnpublishAsync("vol-1", "i-1", CancellationToken.None);
    }

    [Fact]
    public async Task Unpublish_from_every_node_when_no_node_is_given()
    {
        var volume = _ec2.AddVolume("vol-1", 10, "io2", multiAttach: true);
        volume.Attachments =
        [
            new VolumeAttachment { InstanceId = "i-1", Device = "/dev/xvdba", State = VolumeAttachmentState.Attached },
            new VolumeAttachment { InstanceId = "i-2", Device = "/dev/xvdba", State = VolumeAttachmentState.Attached },
        ];

        await _ec2.Provider.UnpublishAsync("vol-1", null, CancellationToken.None);

        Assert.Equal(2, _ec2.Calls("DetachVolume"));
        Assert.Empty(volume.Attachments);
    }

    [Fact]
    public async Task Publish_during_a_detach_to_the_same_node_waits_then_attaches_again()
    {
        var volume = _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");
        volume.Attachments = [new VolumeAttachment { InstanceId = "i-1", Device = "/dev/xvdba", State = VolumeAttachmentState.Detaching }];
        _ = Task.Delay(80).ContinueWith(_ => { volume.Attachments = []; }, TaskScheduler.Default);

        var context = await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        Assert.Equal(1, _ec2.Calls("AttachVolume"));
        Assert.StartsWith("/dev/xvd", context[AttachmentManager.DevicePathKey], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Attach_to_a_described_instance_and_its_detach_go_to_EC2_without_describing_first()
    {
        _ec2.AddVolume("vol-1");
        _ec2.AddVolume("vol-2");
        _ec2.AddInstance("i-1");
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);
        var describesAtCall = new List<int>();
        _ec2.Mock.Setup(c => c.AttachVolumeAsync(It.IsAny<AttachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((AttachVolumeRequest r, CancellationToken _) =>
            {
                describesAtCall.Add(_ec2.Calls("DescribeVolumes") + _ec2.Calls("DescribeInstances"));
                _ec2.Volumes[r.VolumeId].Attachments = [new VolumeAttachment { InstanceId = r.InstanceId, Device = r.Device, State = VolumeAttachmentState.Attached }];
                return Task.FromResult(new AttachVolumeResponse());
            });
        _ec2.Mock.Setup(c => c.DetachVolumeAsync(It.IsAny<DetachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DetachVolumeRequest r, CancellationToken _) =>
            {
                describesAtCall.Add(_ec2.Calls("DescribeVolumes") + _ec2.Calls("DescribeInstances"));
                _ec2.Volumes[r.VolumeId].Attachments = [];
                return Task.FromResult(new DetachVolumeResponse());
            });
        var describesBefore = _ec2.Calls("DescribeVolumes") + _ec2.Calls("DescribeInstances");

        var context = await _ec2.Provider.PublishAsync(Publish("vol-2", "i-1"), CancellationToken.None);
        var describesAfterAttach = _ec2.Calls("DescribeVolumes") + _ec2.Calls("DescribeInstances");
        await _ec2.Provider.UnpublishAsync("vol-2", "i-1", CancellationToken.None);

        Assert.Equal([describesBefore, describesAfterAttach], describesAtCall);
        Assert.NotEqual("/dev/xvdba", context[AttachmentManager.DevicePathKey]);
        Assert.Null(_ec2.Devices.Reserved("i-1", "vol-2"));
    }

    [Fact]
    public async Task Attach_that_EC2_refuses_is_answered_from_the_described_volume()
    {
        _ec2.AddVolume("vol-1");
        var elsewhere = _ec2.AddVolume("vol-2");
        _ec2.AddInstance("i-1");
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);
        // Attached to i-2 behind this process's back: EC2 refuses, the described path names the other node.
        elsewhere.Attachments = [new VolumeAttachment { InstanceId = "i-2", Device = "/dev/xvdba", State = VolumeAttachmentState.Attached }];
        _ec2.Mock.Setup(c => c.AttachVolumeAsync(It.Is<AttachVolumeRequest>(r => r.VolumeId == "vol-2"), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("VolumeInUse", "vol-2 is already attached to an instance"));

        var error = await Assert.ThrowsAsync<StorageException>(() => _ec2.Provider.PublishAsync(Publish("vol-2", "i-1"), CancellationToken.None));

        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
        Assert.Contains("i-2", error.Message, StringComparison.Ordinal);
        Assert.Null(_ec2.Devices.Reserved("i-1", "vol-2"));
    }

    [Fact]
    public async Task Volumes_the_instance_description_shows_are_published_again_without_a_second_attach()
    {
        _ec2.AddVolume("vol-1");
        var attached = _ec2.AddVolume("vol-2");
        var instance = _ec2.AddInstance("i-1");
        attached.Attachments = [new VolumeAttachment { InstanceId = "i-1", Device = "/dev/xvdbz", State = VolumeAttachmentState.Attached }];
        instance.BlockDeviceMappings.Add(new InstanceBlockDeviceMapping { DeviceName = "/dev/xvdbz", Ebs = new EbsInstanceBlockDevice { VolumeId = "vol-2" } });
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        var context = await _ec2.Provider.PublishAsync(Publish("vol-2", "i-1"), CancellationToken.None);

        Assert.Equal("/dev/xvdbz", context[AttachmentManager.DevicePathKey]);
        Assert.Equal(1, _ec2.Calls("AttachVolume"));
    }

    [Fact]
    public async Task Direct_read_write_attach_clears_a_readonly_mark_left_behind()
    {
        _ec2.AddVolume("vol-1");
        var marked = _ec2.AddVolume("vol-2");
        marked.Tags = [new Tag(EbsTags.PublishedReadOnly("i-1"), "true")];
        _ec2.AddInstance("i-1");
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);

        await _ec2.Provider.PublishAsync(Publish("vol-2", "i-1"), CancellationToken.None);

        _ec2.Mock.Verify(c => c.DeleteTagsAsync(It.Is<DeleteTagsRequest>(r => r.Resources.Single() == "vol-2" && r.Tags.Single().Key == EbsTags.PublishedReadOnly("i-1")),
            It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(0, _ec2.Calls("CreateTags"));
    }

    [Fact]
    public async Task Detach_that_EC2_refuses_is_answered_from_the_described_volume()
    {
        var volume = _ec2.AddVolume("vol-1");
        _ec2.AddInstance("i-1");
        await _ec2.Provider.PublishAsync(Publish("vol-1", "i-1"), CancellationToken.None);
        // Detached behind this process's back: EC2 refuses, the volume shows no attachment, unpublish is done.
        volume.Attachments = [];
        _ec2.Mock.Setup(c => c.DetachVolumeAsync(It.IsAny<DetachVolumeRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(Ec2Mock.Error("IncorrectState", "Volume 'vol-1' is in the 'available' state."));

        await _ec2.Provider.UnpublishAsync("vol-1", "i-1", CancellationToken.None);

        Assert.Equal(1, _ec2.Calls("DetachVolume"));
        Assert.Null(_ec2.Devices.Reserved("i-1", "vol-1"));
    }
}
