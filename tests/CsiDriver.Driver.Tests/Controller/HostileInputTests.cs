using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Cloud.Local;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Controller.Requests;
using Row = CsiDriver.Testing.RefusedCall<CsiDriver.Driver.Tests.Controller.HostileInputFixture>;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>
/// One local driver whose state dir is its own small ext4 filesystem (4 KiB blocks: one file holds at most
/// 16 TiB - 4 KiB), with a free volume, a published one and a snapshot to aim at.
/// </summary>
public sealed class HostileInputFixture : IAsyncLifetime
{
    private readonly TestDirectory _dir = new("ctl-hostile");

    public RunningDriver Driver { get; private set; } = null!;

    public LocalStatePaths Paths { get; private set; } = null!;

    public string FreeVolumeId { get; private set; } = "";

    public string PublishedVolumeId { get; private set; } = "";

    public IDictionary<string, string> PublishContext { get; private set; } = new Dictionary<string, string>();

    public string StagingRoot => _dir.Path("staging");

    public string Root => _dir.Root;

    public async Task InitializeAsync()
    {
        var disk = CsiDriver.Testing.LoopDevice.Create(_dir, 64 * CsiDriver.Testing.LoopDevice.MiB, "statefs.img");
        Shell.Run("mkfs.ext4", "-q", "-b", "4096", disk.Device);
        var stateFs = _dir.Path("statefs");
        Directory.CreateDirectory(stateFs);
        Shell.Run("mount", disk.Device, stateFs);

        var configuration = RunningDriver.LocalConfiguration(_dir);
        configuration.Local.StateDir = Path.Combine(stateFs, "state");
        Paths = new LocalStatePaths(configuration.Local.StateDir);
        Driver = await RunningDriver.StartAsync(configuration);
        FreeVolumeId = (await Driver.Controller.CreateVolumeAsync(Create("hostile-free"))).Volume.VolumeId;
        PublishedVolumeId = (await Driver.Controller.CreateVolumeAsync(Create("hostile-published"))).Volume.VolumeId;
        PublishContext = (await Driver.Controller.ControllerPublishVolumeAsync(Publish(PublishedVolumeId))).PublishContext;
        await Driver.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "hostile-snap", SourceVolumeId = FreeVolumeId });
        Directory.CreateDirectory(StagingRoot);
    }

    /// <summary>What exists: volume ids, files under the state dir with their sizes, loop devices, mounts under the staging root.</summary>
    public async Task<string> InventoryAsync()
    {
        var volumes = (await Driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries
            .Select(e => $"{e.Volume.VolumeId}:{e.Volume.CapacityBytes}:{string.Join(',', e.Status.PublishedNodeIds)}");
        var snapshots = (await Driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest())).Entries.Select(e => e.Snapshot.SnapshotId);
        var files = Directory.GetFiles(Paths.StateDir, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "lock")
            .Select(f => $"{f}:{new FileInfo(f).Length}");
        var loops = TestDirectory.LoopDevicesBackedBelow(Paths.StateDir + "/");
        var mounts = TestDirectory.MountPointsBelow(StagingRoot + "/");
        return string.Join('\n', volumes.Concat(snapshots).Concat(files.Order(StringComparer.Ordinal)).Concat(loops.Order(StringComparer.Ordinal)).Concat(mounts));
    }

    public async Task DisposeAsync()
    {
        await Driver.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>
/// Hostile input to the classes of issue 9 this suite owns, over the real socket: numeric parameters that are not
/// exactly a number in range, capacities no local volume can have, input long enough to break an echoing error,
/// each answered with the exact status code, a message that stays short, and nothing created or changed.
/// </summary>
public sealed class HostileInputTests(HostileInputFixture fixture) : IClassFixture<HostileInputFixture>
{
    private const long GiB = 1L << 30;
    private const long TiB = 1L << 40;
    private const long PiB = 1L << 50;

    private static readonly string TenKb = new('x', 10 * 1024);

    private static CreateVolumeRequest WithParameters(string fsType, params (string Key, string Value)[] parameters)
    {
        var request = Create("hostile-new", capability: Mount(fsType: fsType));
        foreach (var (key, value) in parameters)
        {
            request.Parameters[key] = value;
        }
        return request;
    }

    private static CreateVolumeRequest Ext4(string key, string value) => WithParameters("ext4", (key, value));

    private static NodeStageVolumeRequest Stage(HostileInputFixture f, string key, string value, string? stagingPath = null)
    {
        var request = new NodeStageVolumeRequest
        {
            VolumeId = f.PublishedVolumeId,
            StagingTargetPath = stagingPath ?? Path.Combine(f.StagingRoot, "stage"),
            VolumeCapability = Mount(),
        };
        request.PublishContext.Add(f.PublishContext);
        request.VolumeContext[key] = value;
        return request;
    }

    private static readonly RefusedCallTable<HostileInputFixture> Cases = new()
    {
        // Numeric parameters: exactly plain digits, within the range mkfs accepts, at CreateVolume.
        ["blockSize with a trailing NUL"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "4096\0"))),
        ["blockSize with a leading blank"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", " 4096"))),
        ["blockSize with a trailing newline"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "4096\n"))),
        ["blockSize with a plus sign"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "+4096"))),
        ["blockSize negative"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "-4096"))),
        ["blockSize with a leading zero"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "04096"))),
        ["blockSize in exponent form"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "4e3"))),
        ["blockSize with a digit group separator"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "4,096"))),
        ["blockSize in non-ASCII digits"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "٤٠٩٦"))),
        ["blockSize empty"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", ""))),
        ["blockSize 2^32+1024 (1024 once wrapped to 32 bits)"] = Row.Of("numeric", StatusCode.InvalidArgument, "4294968320", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "4294968320"))),
        ["blockSize 2^64+1024 (beyond 64 bits)"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "18446744073709552640"))),
        ["blockSize 8192 on ext4 (above the page size mke2fs accepts)"] = Row.Of("numeric", StatusCode.InvalidArgument, "4096", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "8192"))),
        ["blockSize 512 on xfs (below the CRC minimum)"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(WithParameters("xfs", ("blockSize", "512")))),
        ["blockSize not a power of two"] = Row.Of("numeric", StatusCode.InvalidArgument, "power of two", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", "3000"))),
        ["inodeSize 2^32+256"] = Row.Of("numeric", StatusCode.InvalidArgument, "inodeSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("inodeSize", "4294967552"))),
        ["inodeSize 4096 on ext4 without a block size"] = Row.Of("numeric", StatusCode.InvalidArgument, "inodeSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("inodeSize", "4096"))),
        ["inodeSize above the ext4 block size"] = Row.Of("numeric", StatusCode.InvalidArgument, "inodeSize", f => f.Driver.Controller.CreateVolumeAsync(WithParameters("ext4", ("blockSize", "1024"), ("inodeSize", "2048")))),
        ["inodeSize 256 on xfs (below the CRC minimum)"] = Row.Of("numeric", StatusCode.InvalidArgument, "inodeSize", f => f.Driver.Controller.CreateVolumeAsync(WithParameters("xfs", ("inodeSize", "256")))),
        ["inodeSize over half the xfs block size"] = Row.Of("numeric", StatusCode.InvalidArgument, "inodeSize", f => f.Driver.Controller.CreateVolumeAsync(WithParameters("xfs", ("blockSize", "1024"), ("inodeSize", "1024")))),
        ["bytesPerInode 2^32+1024"] = Row.Of("numeric", StatusCode.InvalidArgument, "bytesPerInode", f => f.Driver.Controller.CreateVolumeAsync(Ext4("bytesPerInode", "4294968320"))),
        ["bytesPerInode with a tab"] = Row.Of("numeric", StatusCode.InvalidArgument, "bytesPerInode", f => f.Driver.Controller.CreateVolumeAsync(Ext4("bytesPerInode", "16384\t"))),
        ["numberOfInodes 2^32"] = Row.Of("numeric", StatusCode.InvalidArgument, "numberOfInodes", f => f.Driver.Controller.CreateVolumeAsync(Ext4("numberOfInodes", "4294967296"))),
        ["numberOfInodes zero"] = Row.Of("numeric", StatusCode.InvalidArgument, "numberOfInodes", f => f.Driver.Controller.CreateVolumeAsync(Ext4("numberOfInodes", "0"))),
        ["ext4ClusterSize 2^32+4096"] = Row.Of("numeric", StatusCode.InvalidArgument, "ext4ClusterSize", f => f.Driver.Controller.CreateVolumeAsync(WithParameters("ext4", ("ext4BigAlloc", "true"), ("ext4ClusterSize", "4294971392")))),
        ["ext4BigAlloc with a trailing NUL"] = Row.Of("numeric", StatusCode.InvalidArgument, "ext4BigAlloc", f => f.Driver.Controller.CreateVolumeAsync(Ext4("ext4BigAlloc", "true\0"))),
        ["ext4BigAlloc yes"] = Row.Of("numeric", StatusCode.InvalidArgument, "ext4BigAlloc", f => f.Driver.Controller.CreateVolumeAsync(Ext4("ext4BigAlloc", "yes"))),
        ["ControllerModifyVolume readAheadKiB 2^32+128"] = Row.Of("numeric", StatusCode.InvalidArgument, "readAheadKiB", f => f.Driver.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["readAheadKiB"] = "4294967424" } })),
        ["ControllerModifyVolume readAheadKiB with a trailing NUL"] = Row.Of("numeric", StatusCode.InvalidArgument, "readAheadKiB", f => f.Driver.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["readAheadKiB"] = "128\0" } })),
        // The same parser at NodeStageVolume (the volume context can be edited in a static PV).
        ["NodeStageVolume blockSize 2^32+1024"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Node.NodeStageVolumeAsync(Stage(f, "blockSize", "4294968320"))),
        ["NodeStageVolume blockSize with a trailing NUL"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Node.NodeStageVolumeAsync(Stage(f, "blockSize", "4096\0"))),
        ["NodeStageVolume inodeSize 4096 without a block size"] = Row.Of("numeric", StatusCode.InvalidArgument, "inodeSize", f => f.Driver.Node.NodeStageVolumeAsync(Stage(f, "inodeSize", "4096"))),
        ["NodeStageVolume ext4ClusterSize 2^32+4096"] = Row.Of("numeric", StatusCode.InvalidArgument, "ext4ClusterSize", f => f.Driver.Node.NodeStageVolumeAsync(Stage(f, "ext4ClusterSize", "4294971392"))),

        // Capacity beyond what one file of the state dir's filesystem holds, or beyond any size at all.
        ["CreateVolume of 16 TiB"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.CreateVolumeAsync(Create("hostile-new", 16 * TiB))),
        ["CreateVolume of 1 PiB"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.CreateVolumeAsync(Create("hostile-new", PiB))),
        ["CreateVolume of 2^62 bytes"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.CreateVolumeAsync(Create("hostile-new", 1L << 62))),
        ["CreateVolume of long.MaxValue bytes"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.CreateVolumeAsync(Create("hostile-new", long.MaxValue))),
        ["CreateVolume with only a 1 PiB limit"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.CreateVolumeAsync(Create("hostile-new", PiB, PiB))),
        ["ControllerExpandVolume to 16 TiB"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 16 * TiB))),
        ["ControllerExpandVolume to 1 PiB"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, PiB))),
        ["ControllerExpandVolume to 2^62 bytes"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 1L << 62))),
        ["ControllerExpandVolume of a published volume to long.MaxValue bytes"] = Row.Of("capacity", StatusCode.OutOfRange, "capacity", f => f.Driver.Controller.ControllerExpandVolumeAsync(Expand(f.PublishedVolumeId, long.MaxValue))),

        // Echoed input: a 10 KB field never comes back whole (the status would not fit the client's header limit).
        ["ListVolumes with a 10 KB starting_token"] = Row.Of("echo", StatusCode.Aborted, "starting_token", f => f.Driver.Controller.ListVolumesAsync(new ListVolumesRequest { StartingToken = TenKb })),
        ["ListSnapshots with a 10 KB starting_token"] = Row.Of("echo", StatusCode.Aborted, "starting_token", f => f.Driver.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = TenKb })),
        ["CreateVolume with a 10 KB parameter key"] = Row.Of("echo", StatusCode.InvalidArgument, "unknown parameter", f => f.Driver.Controller.CreateVolumeAsync(Ext4(TenKb, "1"))),
        ["CreateVolume with a 10 KB blockSize"] = Row.Of("echo", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Controller.CreateVolumeAsync(Ext4("blockSize", TenKb))),
        ["CreateVolume with a 10 KB fs_type"] = Row.Of("echo", StatusCode.InvalidArgument, "fs_type", f => f.Driver.Controller.CreateVolumeAsync(Create("hostile-new", capability: Mount(fsType: TenKb)))),
        ["CreateVolume with a 10 KB fstype parameter"] = Row.Of("echo", StatusCode.InvalidArgument, "fstype", f => f.Driver.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "hostile-new", VolumeCapabilities = { Mount(fsType: "") }, Parameters = { ["csi.storage.k8s.io/fstype"] = TenKb } })),
        ["CreateVolume with a 10 KB mutable parameter"] = Row.Of("echo", StatusCode.InvalidArgument, "mutable parameter", f => f.Driver.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "hostile-new", VolumeCapabilities = { Mount() }, MutableParameters = { [TenKb] = "1" } })),
        ["CreateVolume with a 10 KB name"] = Row.Of("echo", StatusCode.InvalidArgument, "name", f => f.Driver.Controller.CreateVolumeAsync(Create(TenKb))),
        ["DeleteVolume with a 10 KB volume_id"] = Row.Of("echo", StatusCode.InvalidArgument, "volume_id", f => f.Driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = TenKb })),
        ["NodeStageVolume with a 10 KB relative staging path"] = Row.Of("echo", StatusCode.InvalidArgument, "staging_target_path", f => f.Driver.Node.NodeStageVolumeAsync(Stage(f, "blockSize", "4096", stagingPath: TenKb))),
        ["NodeStageVolume with a 10 KB blockSize"] = Row.Of("echo", StatusCode.InvalidArgument, "blockSize", f => f.Driver.Node.NodeStageVolumeAsync(Stage(f, "blockSize", TenKb))),
    };

    public static TheoryData<string> CaseNames() => Cases.Names();

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Hostile_input_gets_its_exact_code_a_short_message_and_changes_nothing(string name)
    {
        var @case = Cases[name];
        var before = await fixture.InventoryAsync();

        await @case.AssertRefusedAsync(fixture);

        Assert.Equal(before, await fixture.InventoryAsync());
    }

    [Fact]
    public void Every_class_has_cases()
    {
        var perClass = Cases.CountByClass();
        Assert.True(perClass["numeric"] >= 25);
        Assert.True(perClass["capacity"] >= 8);
        Assert.True(perClass["echo"] >= 10);
    }

    [Fact]
    public async Task A_configured_maximum_refuses_larger_volumes_and_expansions_before_anything_is_written()
    {
        using var dir = new TestDirectory("ctl-maxsize");
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Local.MaxVolumeBytes = GiB;
        await using var driver = await RunningDriver.StartAsync(configuration);

        var created = (await driver.Controller.CreateVolumeAsync(Create("max-ok", GiB))).Volume;
        var tooBig = await AssertFailsWith(StatusCode.OutOfRange, () => driver.Controller.CreateVolumeAsync(Create("max-big", GiB + 1)));
        var tooFar = await AssertFailsWith(StatusCode.OutOfRange, () => driver.Controller.ControllerExpandVolumeAsync(Expand(created.VolumeId, 2 * GiB)));

        Assert.Contains("maximum of 1 GiB", tooBig.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("maximum of 1 GiB", tooFar.Status.Detail, StringComparison.Ordinal);
        var volume = Assert.Single((await driver.Controller.ListVolumesAsync(new ListVolumesRequest())).Entries).Volume;
        Assert.Equal(GiB, volume.CapacityBytes);
        Assert.Equal(GiB, new FileInfo(new LocalStatePaths(configuration.Local.StateDir).VolumeImage(created.VolumeId)).Length);
    }
}
