using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Testing.Aws;
using static CsiDriver.Cloud.Aws.Tests.Simulator.SimulatorClient;

namespace CsiDriver.Cloud.Aws.Tests.Simulator;

/// <summary>AttachVolume, DetachVolume, DescribeInstances, ModifyVolume and its modifications.</summary>
[Trait("Category", "Unit")]
public sealed class SimulatorAttachmentTests
{
    [Fact]
    public async Task Attach_and_detach_move_through_their_states_and_show_in_DescribeInstances()
    {
        await using var aws = await StartOnFakeClockAsync(o =>
        {
            o.VolumeCreateDelay = TimeSpan.FromSeconds(1);
            o.AttachDelay = TimeSpan.FromSeconds(2);
            o.DetachDelay = TimeSpan.FromSeconds(3);
        });
        var (clock, sim, ec2) = aws;
        var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 1 })).Volume;

        var notYet = await Assert.ThrowsAsync<AmazonEC2Exception>(() => Attach(ec2, volume.VolumeId, InstanceA, "/dev/xvdba"));
        Assert.Equal("IncorrectState", notYet.ErrorCode);
        clock.Advance(TimeSpan.FromSeconds(1));

        var attaching = (await Attach(ec2, volume.VolumeId, InstanceA, "/dev/xvdba")).Attachment;
        Assert.Equal(VolumeAttachmentState.Attaching, attaching.State);
        Assert.Equal("/dev/xvdba", attaching.Device);
        Assert.Equal(InstanceA, attaching.InstanceId);
        Assert.Equal(volume.VolumeId, attaching.VolumeId);
        Assert.False(attaching.DeleteOnTermination);

        var described = await SimulatorVolumeTests.DescribeOne(ec2, volume.VolumeId);
        Assert.Equal(VolumeState.InUse, described.State);
        Assert.Equal(VolumeAttachmentState.Attaching, Assert.Single(described.Attachments).State);
        clock.Advance(TimeSpan.FromSeconds(2));
        described = await SimulatorVolumeTests.DescribeOne(ec2, volume.VolumeId);
        Assert.Equal(VolumeAttachmentState.Attached, Assert.Single(described.Attachments).State);

        var byInstance = await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("attachment.instance-id", [InstanceA])] });
        Assert.Equal(volume.VolumeId, Assert.Single(byInstance.Volumes).VolumeId);

        var instance = Assert.Single(Assert.Single((await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = [InstanceA] })).Reservations).Instances);
        Assert.Equal("us-east-1a", instance.Placement.AvailabilityZone);
        Assert.Equal(InstanceType.M5Large, instance.InstanceType);
        Assert.Equal(InstanceStateName.Running, instance.State.Name);
        Assert.Equal(["/dev/xvda", "/dev/xvdba"], instance.BlockDeviceMappings.Select(b => b.DeviceName));
        Assert.Equal(volume.VolumeId, instance.BlockDeviceMappings[1].Ebs.VolumeId);
        Assert.Equal(AttachmentStatus.Attached, instance.BlockDeviceMappings[1].Ebs.Status);

        var detaching = (await ec2.DetachVolumeAsync(new DetachVolumeRequest { VolumeId = volume.VolumeId, InstanceId = InstanceA })).Attachment;
        Assert.Equal(VolumeAttachmentState.Detaching, detaching.State);
        var again = (await ec2.DetachVolumeAsync(new DetachVolumeRequest { VolumeId = volume.VolumeId, InstanceId = InstanceA })).Attachment;
        Assert.Equal(VolumeAttachmentState.Detaching, again.State);
        clock.Advance(TimeSpan.FromSeconds(3));
        described = await SimulatorVolumeTests.DescribeOne(ec2, volume.VolumeId);
        Assert.Equal(VolumeState.Available, described.State);
        Assert.Empty(described.Attachments ?? []);

        var notAttached = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DetachVolumeAsync(new DetachVolumeRequest { VolumeId = volume.VolumeId, InstanceId = InstanceA }));
        Assert.Equal("IncorrectState", notAttached.ErrorCode);
    }

    [Fact]
    public async Task AttachVolume_refuses_what_EC2_refuses()
    {
        await using var sim = await StartAsync(o => o.VolumeCreateDelay = TimeSpan.Zero);
        sim.AddInstance(new Ec2InstanceSeed("i-0000000c", "us-east-1a", "t3.micro", new Dictionary<string, string> { ["/dev/xvda"] = "vol-00000001" }, MaxVolumeAttachments: 2));
        using var ec2 = Create(sim);
        var first = await NewVolume(ec2, "us-east-1a");
        var second = await NewVolume(ec2, "us-east-1a");
        var third = await NewVolume(ec2, "us-east-1a");
        var inB = await NewVolume(ec2, "us-east-1b");
        await Attach(ec2, first, InstanceA, "/dev/xvdba");

        await ExpectError("VolumeInUse", () => Attach(ec2, first, InstanceA, "/dev/xvdbb"));
        await ExpectError("VolumeInUse", () => Attach(ec2, first, "i-0000000c", "/dev/xvdbb"));
        await ExpectError("InvalidParameterValue", () => Attach(ec2, second, InstanceA, "/dev/xvdba"));
        await ExpectError("InvalidParameterValue", () => Attach(ec2, second, InstanceA, "xvdbb"));
        await ExpectError("InvalidVolume.ZoneMismatch", () => Attach(ec2, inB, InstanceA, "/dev/xvdbc"));
        await ExpectError("InvalidInstanceID.NotFound", () => Attach(ec2, second, "i-0123456789abcdef0", "/dev/xvdbc"));
        await ExpectError("InvalidInstanceID.Malformed", () => Attach(ec2, second, "node-1", "/dev/xvdbc"));
        await ExpectError("InvalidVolume.NotFound", () => Attach(ec2, "vol-0123456789abcdef0", InstanceA, "/dev/xvdbc"));
        await ExpectError("MissingParameter", () => ec2.AttachVolumeAsync(new AttachVolumeRequest { VolumeId = second, InstanceId = InstanceA }));

        await Attach(ec2, second, "i-0000000c", "/dev/xvdbb");
        await ExpectError("AttachmentLimitExceeded", () => Attach(ec2, third, "i-0000000c", "/dev/xvdbc"));
        await ExpectError("VolumeInUse", () => ec2.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = first }));
        await ExpectError("InvalidAttachment.NotFound", () => ec2.DetachVolumeAsync(new DetachVolumeRequest { VolumeId = first, InstanceId = InstanceB }));
    }

    [Fact]
    public async Task A_multi_attach_io2_volume_attaches_to_two_instances_in_its_zone()
    {
        await using var sim = await StartAsync(o => o.VolumeCreateDelay = TimeSpan.Zero);
        sim.AddInstance(Ec2InstanceSeed.WithRootVolume("i-0000000d", "us-east-1a"));
        using var ec2 = Create(sim);
        var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 10, VolumeType = VolumeType.Io2, Iops = 1000, MultiAttachEnabled = true })).Volume;
        Assert.True(volume.MultiAttachEnabled);
        await Attach(ec2, volume.VolumeId, InstanceA, "/dev/xvdba");
        await Attach(ec2, volume.VolumeId, "i-0000000d", "/dev/xvdba");
        Assert.Equal(2, sim.Volume(volume.VolumeId)!.Attachments.Count);
        await ExpectError("InvalidParameterCombination", () => ec2.DetachVolumeAsync(new DetachVolumeRequest { VolumeId = volume.VolumeId }));
        await ec2.DetachVolumeAsync(new DetachVolumeRequest { VolumeId = volume.VolumeId, InstanceId = InstanceA });
    }

    [Fact]
    public async Task ModifyVolume_goes_modifying_optimizing_completed_and_a_second_one_waits_for_the_cooldown()
    {
        await using var aws = await StartOnFakeClockAsync(o =>
        {
            o.VolumeCreateDelay = TimeSpan.Zero;
            o.ModificationModifyingDelay = TimeSpan.FromSeconds(1);
            o.ModificationOptimizingDelay = TimeSpan.FromSeconds(2);
            o.ModificationCooldown = TimeSpan.FromSeconds(60);
        });
        var (clock, sim, ec2) = aws;
        var volume = (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = "us-east-1a", Size = 10, VolumeType = VolumeType.Gp3 })).Volume;

        await ExpectError("InvalidVolumeModification.NotFound",
            () => ec2.DescribeVolumesModificationsAsync(new DescribeVolumesModificationsRequest { VolumeIds = [volume.VolumeId] }));

        var modification = (await ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId, Size = 20, Iops = 4000 })).VolumeModification;
        Assert.Equal(VolumeModificationState.Modifying, modification.ModificationState);
        Assert.Equal(20, modification.TargetSize);
        Assert.Equal(10, modification.OriginalSize);
        Assert.Equal(4000, modification.TargetIops);
        Assert.Equal(3000, modification.OriginalIops);
        Assert.Equal(VolumeType.Gp3, modification.TargetVolumeType);
        Assert.Equal(125, modification.TargetThroughput);
        Assert.Equal(0, modification.Progress);
        Assert.Equal(10, (await SimulatorVolumeTests.DescribeOne(ec2, volume.VolumeId)).Size);

        await ExpectError("IncorrectModificationState", () => ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId, Size = 30 }));

        clock.Advance(TimeSpan.FromSeconds(1));
        var optimizing = Assert.Single((await ec2.DescribeVolumesModificationsAsync(new DescribeVolumesModificationsRequest { VolumeIds = [volume.VolumeId] })).VolumesModifications);
        Assert.Equal(VolumeModificationState.Optimizing, optimizing.ModificationState);
        var grown = await SimulatorVolumeTests.DescribeOne(ec2, volume.VolumeId);
        Assert.Equal(20, grown.Size);
        Assert.Equal(4000, grown.Iops);

        clock.Advance(TimeSpan.FromSeconds(2));
        var completed = Assert.Single((await ec2.DescribeVolumesModificationsAsync(new DescribeVolumesModificationsRequest
        {
            Filters = [new Filter("modification-state", ["completed"])],
        })).VolumesModifications);
        Assert.Equal(VolumeModificationState.Completed, completed.ModificationState);
        Assert.Equal(100, completed.Progress);
        Assert.NotNull(completed.EndTime);

        await ExpectError("VolumeModificationRateExceeded", () => ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId, Size = 30 }));
        clock.Advance(TimeSpan.FromSeconds(60));
        await ExpectError("InvalidParameterValue", () => ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId, Size = 5 }));
        await ExpectError("InvalidParameterValue", () => ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId, Size = 20 }));
        await ExpectError("InvalidParameterCombination", () => ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId }));
        await ExpectError("InvalidParameterCombination", () => ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId, VolumeType = VolumeType.Gp2, Iops = 3000 }));
        var toGp2 = (await ec2.ModifyVolumeAsync(new ModifyVolumeRequest { VolumeId = volume.VolumeId, Size = 30, VolumeType = VolumeType.Gp2 })).VolumeModification;
        Assert.Equal(VolumeType.Gp2, toGp2.TargetVolumeType);
        Assert.Equal(100, toGp2.TargetIops);
        Assert.Null(toGp2.TargetThroughput);
    }

    internal static Task<AttachVolumeResponse> Attach(AmazonEC2Client ec2, string volumeId, string instanceId, string device) =>
        ec2.AttachVolumeAsync(new AttachVolumeRequest { VolumeId = volumeId, InstanceId = instanceId, Device = device });

    internal static async Task<string> NewVolume(AmazonEC2Client ec2, string zone, int size = 1) =>
        (await ec2.CreateVolumeAsync(new CreateVolumeRequest { AvailabilityZone = zone, Size = size })).Volume.VolumeId;

    internal static async Task ExpectError(string code, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<AmazonEC2Exception>(call);
        Assert.Equal(code, error.ErrorCode);
    }
}
