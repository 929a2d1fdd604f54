using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using Row = CsiDriver.Testing.RefusedCall<CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsBadRequestFixture>;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>One aws controller for the whole table, with a published volume, a free volume and a snapshot to aim at.</summary>
public sealed class AwsBadRequestFixture : IAsyncLifetime
{
    internal AwsEnvironment Environment { get; private set; } = null!;

    public Csi.V1.Controller.ControllerClient Controller => Environment.Controller;

    public RefusalTargets Targets { get; private set; } = null!;

    public string PublishedVolumeId => Targets.PublishedVolumeId;

    public string FreeVolumeId => Targets.FreeVolumeId;

    public string SnapshotId => Targets.SnapshotId;

    public async Task InitializeAsync()
    {
        Environment = await AwsEnvironment.StartAsync("aws-bad");
        Targets = await RefusalTargets.CreateAsync(Controller, name => Create(name), id => Publish(id));
    }

    public async Task DisposeAsync() => await Environment.DisposeAsync();
}

/// <summary>
/// The local backend's bad-request table, against the aws backend: every Controller RPC with malformed or
/// impossible requests fails with the status the CSI spec asks for and a message naming the problem,
/// and nothing is left half-done in EC2.
/// </summary>
public sealed class AwsBadRequestTests(AwsBadRequestFixture fixture) : IClassFixture<AwsBadRequestFixture>
{
    private static CreateVolumeRequest WithParameter(string key, string value)
    {
        var request = Create("bad-param");
        request.Parameters[key] = value;
        return request;
    }

    private static CreateVolumeRequest WithCapability(VolumeCapability capability) => Create("bad-cap", capability: capability);

    private static readonly RefusedCallTable<AwsBadRequestFixture> Cases = new()
    {
        // CreateVolume: shape (checked by the gRPC surface).
        ["CreateVolume without name"] = Row.Of(StatusCode.InvalidArgument, "name", f => f.Controller.CreateVolumeAsync(Create(""))),
        ["CreateVolume with a name over 128 bytes"] = Row.Of(StatusCode.InvalidArgument, "name", f => f.Controller.CreateVolumeAsync(Create(new string('n', 129)))),
        ["CreateVolume without capabilities"] = Row.Of(StatusCode.InvalidArgument, "volume_capabilities", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-nocap" })),
        ["CreateVolume capability without access mode"] = Row.Of(StatusCode.InvalidArgument, "access_mode", f => f.Controller.CreateVolumeAsync(WithCapability(new VolumeCapability { Mount = new() }))),
        ["CreateVolume with an unsupported fs_type"] = Row.Of(StatusCode.InvalidArgument, "ntfs", f => f.Controller.CreateVolumeAsync(WithCapability(Mount(fsType: "ntfs")))),
        ["CreateVolume mount with multi-node writers"] = Row.Of(StatusCode.InvalidArgument, "MultiNodeMultiWriter", f => f.Controller.CreateVolumeAsync(WithCapability(Mount(Mode.MultiNodeMultiWriter)))),
        ["CreateVolume with negative required_bytes"] = Row.Of(StatusCode.InvalidArgument, "required_bytes", f => f.Controller.CreateVolumeAsync(Create("bad-neg", -1))),
        ["CreateVolume with limit below required"] = Row.Of(StatusCode.InvalidArgument, "limit_bytes", f => f.Controller.CreateVolumeAsync(Create("bad-range", 10 * GiB, 5 * GiB))),
        ["CreateVolume from a snapshot with an empty id"] = Row.Of(StatusCode.InvalidArgument, "snapshot_id", f => f.Controller.CreateVolumeAsync(FromSnapshot("bad-src", ""))),
        // CreateVolume: what only the aws backend knows.
        ["CreateVolume with an unknown parameter"] = Row.Of(StatusCode.InvalidArgument, "color", f => f.Controller.CreateVolumeAsync(WithParameter("color", "blue"))),
        ["CreateVolume with an unknown volume type"] = Row.Of(StatusCode.InvalidArgument, "gp9", f => f.Controller.CreateVolumeAsync(WithParameter("type", "gp9"))),
        ["CreateVolume with iops that do not parse"] = Row.Of(StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(WithParameter("iops", "fast"))),
        ["CreateVolume with iops on gp2"] = Row.Of(StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-gp2", VolumeCapabilities = { Mount() }, Parameters = { ["type"] = "gp2", ["iops"] = "3000" } })),
        ["CreateVolume with a kms key but no encryption"] = Row.Of(StatusCode.InvalidArgument, "kmsKeyId", f => f.Controller.CreateVolumeAsync(WithParameter("kmsKeyId", "alias/x"))),
        ["CreateVolume with an encrypted flag that does not parse"] = Row.Of(StatusCode.InvalidArgument, "encrypted", f => f.Controller.CreateVolumeAsync(WithParameter("encrypted", "maybe"))),
        ["CreateVolume with a reserved tag key"] = Row.Of(StatusCode.InvalidArgument, "aws:", f => f.Controller.CreateVolumeAsync(WithParameter("tagSpecification_1", "aws:owner=me"))),
        ["CreateVolume multi-node writers on gp3 block"] = Row.Of(StatusCode.InvalidArgument, "io2", f => f.Controller.CreateVolumeAsync(WithCapability(Block(Mode.MultiNodeMultiWriter)))),
        ["CreateVolume multi-node readers"] = Row.Of(StatusCode.InvalidArgument, "not supported", f => f.Controller.CreateVolumeAsync(WithCapability(Mount(Mode.MultiNodeReaderOnly)))),
        ["CreateVolume from a missing snapshot"] = Row.Of(StatusCode.NotFound, MissingSnapshot, f => f.Controller.CreateVolumeAsync(FromSnapshot("bad-src", MissingSnapshot))),
        ["CreateVolume from a missing volume"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.CreateVolumeAsync(FromVolume("bad-src", MissingVolume))),
        ["CreateVolume with a limit below one GiB"] = Row.Of(StatusCode.OutOfRange, "limit_bytes", f => f.Controller.CreateVolumeAsync(Create("bad-tiny", 1, 1000))),
        ["CreateVolume above the type's maximum"] = Row.Of(StatusCode.OutOfRange, "16384", f => f.Controller.CreateVolumeAsync(Create("bad-huge", 16385 * GiB))),
        ["CreateVolume from a snapshot bigger than the limit"] = Row.Of(StatusCode.OutOfRange, "limit_bytes", f => f.Controller.CreateVolumeAsync(FromSnapshot("bad-restore", f.SnapshotId, 1 * GiB / 2, 1 * GiB / 2))),
        ["CreateVolume in a zone EC2 does not have"] = Row.Of(StatusCode.InvalidArgument, "us-east-1z", f => f.Controller.CreateVolumeAsync(Create("bad-zone", zone: "us-east-1z"))),
        ["CreateVolume with the name of another volume but another size"] = Row.Of(StatusCode.AlreadyExists, "bad-free", f => f.Controller.CreateVolumeAsync(Create("bad-free", 64 * GiB))),

        // DeleteVolume
        ["DeleteVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.DeleteVolumeAsync(new DeleteVolumeRequest())),
        ["DeleteVolume of a published volume"] = Row.Of(StatusCode.FailedPrecondition, "attached", f => f.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = f.PublishedVolumeId })),

        // ControllerPublishVolume
        ["ControllerPublishVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerPublishVolumeAsync(Publish(""))),
        ["ControllerPublishVolume without node_id"] = Row.Of(StatusCode.InvalidArgument, "node_id", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, ""))),
        ["ControllerPublishVolume without capability"] = Row.Of(StatusCode.InvalidArgument, "volume_capability", f => f.Controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest { VolumeId = f.FreeVolumeId, NodeId = NodeA })),
        ["ControllerPublishVolume of a missing volume"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.ControllerPublishVolumeAsync(Publish(MissingVolume))),
        ["ControllerPublishVolume to a missing node"] = Row.Of(StatusCode.NotFound, "i-00000000000000000", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, "i-00000000000000000"))),
        ["ControllerPublishVolume to a node in another zone"] = Row.Of(StatusCode.FailedPrecondition, "us-east-1b", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, NodeB))),
        ["ControllerPublishVolume of a volume attached to another node"] = Row.Of(StatusCode.FailedPrecondition, NodeA, f => f.Controller.ControllerPublishVolumeAsync(Publish(f.PublishedVolumeId, NodeA2))),

        // ControllerUnpublishVolume
        ["ControllerUnpublishVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { NodeId = NodeA })),

        // ValidateVolumeCapabilities
        ["ValidateVolumeCapabilities without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeCapabilities = { Mount() } })),
        ["ValidateVolumeCapabilities without capabilities"] = Row.Of(StatusCode.InvalidArgument, "volume_capabilities", f => f.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = f.FreeVolumeId })),
        ["ValidateVolumeCapabilities of a missing volume"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = MissingVolume, VolumeCapabilities = { Mount() } })),

        // ListVolumes
        ["ListVolumes with negative max_entries"] = Row.Of(StatusCode.InvalidArgument, "max_entries", f => f.Controller.ListVolumesAsync(new ListVolumesRequest { MaxEntries = -1 })),
        ["ListVolumes with a token that does not parse"] = Row.Of(StatusCode.Aborted, "token", f => f.Controller.ListVolumesAsync(new ListVolumesRequest { StartingToken = "garbage" })),

        // GetCapacity
        ["GetCapacity is not offered"] = Row.Of(StatusCode.Unimplemented, "GetCapacity", f => f.Controller.GetCapacityAsync(new GetCapacityRequest())),

        // CreateSnapshot
        ["CreateSnapshot without name"] = Row.Of(StatusCode.InvalidArgument, "name", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { SourceVolumeId = f.FreeVolumeId })),
        ["CreateSnapshot without source_volume_id"] = Row.Of(StatusCode.InvalidArgument, "source_volume_id", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-2" })),
        ["CreateSnapshot of a missing volume"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-3", SourceVolumeId = MissingVolume })),
        ["CreateSnapshot with an unknown parameter"] = Row.Of(StatusCode.InvalidArgument, "retention", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-4", SourceVolumeId = f.FreeVolumeId, Parameters = { ["retention"] = "1d" } })),
        ["CreateSnapshot with the name of another volume's snapshot"] = Row.Of(StatusCode.AlreadyExists, "bad-snap", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap", SourceVolumeId = f.PublishedVolumeId })),

        // DeleteSnapshot
        ["DeleteSnapshot without snapshot_id"] = Row.Of(StatusCode.InvalidArgument, "snapshot_id", f => f.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest())),

        // ListSnapshots
        ["ListSnapshots with negative max_entries"] = Row.Of(StatusCode.InvalidArgument, "max_entries", f => f.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { MaxEntries = -5 })),
        ["ListSnapshots with a token that does not parse"] = Row.Of(StatusCode.Aborted, "token", f => f.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "-1" })),

        // GetSnapshot
        ["GetSnapshot without snapshot_id"] = Row.Of(StatusCode.InvalidArgument, "snapshot_id", f => f.Controller.GetSnapshotAsync(new GetSnapshotRequest())),
        ["GetSnapshot of a missing snapshot"] = Row.Of(StatusCode.NotFound, MissingSnapshot, f => f.Controller.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = MissingSnapshot })),

        // ControllerExpandVolume
        ["ControllerExpandVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerExpandVolumeAsync(Expand("", 2 * GiB))),
        ["ControllerExpandVolume without capacity_range"] = Row.Of(StatusCode.InvalidArgument, "capacity_range", f => f.Controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest { VolumeId = f.FreeVolumeId })),
        ["ControllerExpandVolume with limit below required"] = Row.Of(StatusCode.InvalidArgument, "limit_bytes", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 4 * GiB, 2 * GiB))),
        ["ControllerExpandVolume of a missing volume"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.ControllerExpandVolumeAsync(Expand(MissingVolume, 2 * GiB))),
        ["ControllerExpandVolume beyond its limit once rounded to GiB"] = Row.Of(StatusCode.OutOfRange, "limit", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 2 * GiB + 1, 2 * GiB + 1))),

        // ControllerGetVolume
        ["ControllerGetVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest())),
        ["ControllerGetVolume of a missing volume"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = MissingVolume })),

        // ControllerModifyVolume
        ["ControllerModifyVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { MutableParameters = { ["iops"] = "4000" } })),
        ["ControllerModifyVolume of a missing volume without mutable_parameters"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = MissingVolume })),
        ["ControllerModifyVolume of a missing volume"] = Row.Of(StatusCode.NotFound, MissingVolume, f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = MissingVolume, MutableParameters = { ["iops"] = "4000" } })),
        ["ControllerModifyVolume with an unknown key"] = Row.Of(StatusCode.InvalidArgument, "color", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["color"] = "red" } })),
        ["ControllerModifyVolume to an unknown type"] = Row.Of(StatusCode.InvalidArgument, "gp9", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["type"] = "gp9" } })),
    };

    public static TheoryData<string> CaseNames() => Cases.Names();

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_request_fails_with_the_spec_status_and_names_the_problem(string name)
    {
        var volumesBefore = fixture.Environment.Simulator.Volumes().Select(v => v.VolumeId).ToHashSet();

        await Cases[name].AssertRefusedAsync(fixture);

        // Nothing half-done: a refused request made no volume.
        Assert.Equal(volumesBefore, fixture.Environment.Simulator.Volumes().Select(v => v.VolumeId).ToHashSet());
    }

    [Fact]
    public void Every_controller_rpc_has_a_bad_request_case() =>
        Assert.Empty(Cases.RpcsWithoutRow(Csi.V1.Controller.Descriptor, "ControllerGetCapabilities"));
}
