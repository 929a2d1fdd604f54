using System.Security.Cryptography;
using Csi.V1;
using CsiDriver.Driver.Tests.Lifecycle;
using CsiDriver.Testing;
using Grpc.Core;
using Xunit.Abstractions;
using static CsiDriver.Testing.RawBytes;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>
/// Hostile or confused node requests (issue 9), one row per attack, against the real driver over its unix socket on
/// the local backend with real loop devices, ext4 and xfs. The driver's kubelet directory is a scratch directory with
/// kubelet's layout and no extra allowed root, so confinement is the production rule. Every row asserts the status
/// code and a message naming the problem, and that nothing changed on the host: the mounts below the scratch
/// directory and at the system paths attacked, and the contents of every file an attack aims at.
/// </summary>
public sealed class HostileNodeInputTests(ITestOutputHelper output)
{
    private const string NodeId = "hostile-node";
    private const long VolumeBytes = 512L << 20;
    private const long DataOffset = 100L << 20;
    private const string DriverName = "block.csi.csidriver.io";

    private static readonly string[] WatchedSystemPaths = ["/", "/etc", "/etc/passwd", "/tmp", "/root", "/proc", "/proc/self"];

    [Fact]
    public async Task Every_hostile_node_request_gets_its_code_and_changes_nothing_on_the_host()
    {
        using var dir = new TestDirectory("hostile");
        var configuration = RunningDriver.LocalConfiguration(dir, nodeId: NodeId);
        configuration.Driver.KubeletDir = dir.Path("kubelet");
        configuration.Driver.AllowedPathRoots = [];
        await using var driver = await RunningDriver.StartAsync(configuration);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var node = driver.Node;
        var kubelet = new KubeletPaths(dir.Path("kubelet"));

        // Volume A (ext4) and B (xfs): staged and published where kubelet would put them, each with a file.
        var ext4 = VolumeSteps.Mount("ext4");
        var xfs = VolumeSteps.Mount("xfs");
        var block = VolumeSteps.Block();
        var a = await steps.CreateAsync("pvc-hostile-a", VolumeBytes, ext4);
        var b = await steps.CreateAsync("pvc-hostile-b", VolumeBytes, xfs);
        var contextA = await steps.AttachAsync(a.VolumeId, ext4);
        var contextB = await steps.AttachAsync(b.VolumeId, xfs);
        await steps.StageAsync(a, contextA, kubelet.Staging("a"), ext4);
        await steps.PublishAsync(a, contextA, kubelet.Staging("a"), kubelet.Target("a"), ext4);
        await steps.StageAsync(b, contextB, kubelet.Staging("b"), xfs);
        await steps.PublishAsync(b, contextB, kubelet.Staging("b"), kubelet.Target("b"), xfs);
        await File.WriteAllTextAsync(Path.Combine(kubelet.Target("a"), "a.txt"), "volume a");
        await File.WriteAllTextAsync(Path.Combine(kubelet.Target("b"), "b.txt"), "volume b");

        // Volume C: a pod had it as a raw device and wrote 256 KiB at 100 MiB. The first and last MiB stay zero, and on
        // a 512 MiB device this lies between two of the probe's samples (about every 2 MiB): only the node's record
        // of the raw publish can refuse to format it.
        // Volume D: 1 MiB at 100 MiB written by something other than this node: no record, the probe's samples find it.
        var c = await steps.CreateAsync("pvc-hostile-c", VolumeBytes, block);
        var d = await steps.CreateAsync("pvc-hostile-d", VolumeBytes, block);
        var contextC = await steps.AttachAsync(c.VolumeId, block);
        var contextD = await steps.AttachAsync(d.VolumeId, block);
        var rawTarget = kubelet.BlockTarget("c");
        await steps.PublishAsync(c, contextC, kubelet.BlockStaging("c"), rawTarget, block);
        WriteAt(rawTarget, DataOffset, RandomNumberGenerator.GetBytes(256 << 10));
        await node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = c.VolumeId, TargetPath = rawTarget });
        var deviceC = DeviceOf(contextC);
        var deviceD = DeviceOf(contextD);
        WriteAt(deviceD, DataOffset, RandomNumberGenerator.GetBytes(1 << 20));
        LocalLifecycleTests.Sync();

        // Things that are not the volumes': a tmpfs in kubelet's tree, "host" files outside it, links to them,
        // and an empty directory and file kubelet (not the driver) made.
        var hostEtc = Directory.CreateDirectory(dir.Path("host", "etc")).FullName;
        var hostSecret = Path.Combine(hostEtc, "secret");
        await File.WriteAllTextAsync(hostSecret, "host secret");
        var hostPasswd = dir.Path("host", "passwd");
        await File.WriteAllTextAsync(hostPasswd, "root:x:0:0::/root:/bin/sh\n");
        var foreign = kubelet.Target("foreign");
        Directory.CreateDirectory(foreign);
        Shell.Run("mount", "-t", "tmpfs", "-o", "size=1m", "csi-hostile-tmpfs", foreign);
        await File.WriteAllTextAsync(Path.Combine(foreign, "keep.txt"), "keep");
        var linkToEtc = kubelet.Target("evil");
        Directory.CreateDirectory(Path.GetDirectoryName(linkToEtc)!);
        File.CreateSymbolicLink(linkToEtc, hostEtc);
        var podLinkedAway = Path.Combine(kubelet.Pods, "linked");
        File.CreateSymbolicLink(podLinkedAway, hostEtc);
        var blockLinkToPasswd = kubelet.BlockTarget("evil");
        Directory.CreateDirectory(Path.GetDirectoryName(blockLinkToPasswd)!);
        File.CreateSymbolicLink(blockLinkToPasswd, hostPasswd);
        var kubeletMadeDir = Directory.CreateDirectory(kubelet.Target("kubelet-made")).FullName;
        var kubeletMadeFile = kubelet.BlockTarget("kubelet-made");
        Directory.CreateDirectory(Path.GetDirectoryName(kubeletMadeFile)!);
        await File.WriteAllBytesAsync(kubeletMadeFile, []);
        var neverUsedDir = Directory.CreateDirectory(kubelet.Target("never-used")).FullName;

        string[] watchedFiles =
        [
            "/etc/passwd", hostSecret, hostPasswd, Path.Combine(foreign, "keep.txt"),
            Path.Combine(kubelet.Target("a"), "a.txt"), Path.Combine(kubelet.Target("b"), "b.txt"),
        ];
        string[] watchedPaths = [kubeletMadeDir, kubeletMadeFile, neverUsedDir, linkToEtc, podLinkedAway, blockLinkToPasswd];
        string[] watchedDevices = [deviceC, deviceD];
        string[] watchedFilesystems = [kubelet.Target("a"), kubelet.Target("b"), foreign];

        List<string> Snapshot() => HostSnapshot(dir.Root, watchedFiles, watchedPaths, watchedDevices, watchedFilesystems);

        Task Stage(Volume volume, IDictionary<string, string> context, string path, VolumeCapability capability) =>
            steps.StageAsync(volume, context, path, capability);
        Task Publish(Volume volume, IDictionary<string, string> context, string staging, string target, VolumeCapability capability) =>
            steps.PublishAsync(volume, context, staging, target, capability);
        Task Unpublish(Volume volume, string target) =>
            node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = volume.VolumeId, TargetPath = target }).ResponseAsync;
        Task Unstage(Volume volume, string staging) =>
            node.NodeUnstageVolumeAsync(new NodeUnstageVolumeRequest { VolumeId = volume.VolumeId, StagingTargetPath = staging }).ResponseAsync;
        Task Stats(Volume volume, string path) =>
            node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = volume.VolumeId, VolumePath = path }).ResponseAsync;
        Task Expand(Volume volume, string path, VolumeCapability? capability = null) =>
            node.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = volume.VolumeId, VolumePath = path, VolumeCapability = capability }).ResponseAsync;
        VolumeCapability WithFlags(params string[] flags) => VolumeSteps.Mount("ext4", flags);

        const string Paths = "paths outside the kubelet's tree";
        const string Foreign = "one volume's call on another's mount";
        const string Flags = "mount flags that change what is mounted";
        const string Data = "data without a signature";
        const string Outside = "outside the directories";
        const string Symlink = "symbolic link";
        var freshStaging = kubelet.Staging("fresh");
        var freshTarget = kubelet.Target("fresh");

        RefusedCallTable<Csi.V1.Node.NodeClient> attacks = new()
        {
            ["stage at /etc"] = new(StatusCode.InvalidArgument, Outside, _ => Stage(a, contextA, "/etc", ext4), Paths),
            ["stage at /tmp"] = new(StatusCode.InvalidArgument, Outside, _ => Stage(a, contextA, "/tmp", ext4), Paths),
            ["stage at /root"] = new(StatusCode.InvalidArgument, Outside, _ => Stage(a, contextA, "/root", ext4), Paths),
            ["stage at //etc"] = new(StatusCode.InvalidArgument, Outside, _ => Stage(a, contextA, "//etc", ext4), Paths),
            ["stage at /proc/self"] = new(StatusCode.InvalidArgument, Outside, _ => Stage(a, contextA, "/proc/self", ext4), Paths),
            ["stage at a symlink in kubelet's tree to a host directory"] = new(StatusCode.InvalidArgument, Symlink,
                _ => Stage(a, contextA, linkToEtc, ext4), Paths),
            ["stage below a pod directory that is a symlink to a host directory"] = new(StatusCode.InvalidArgument, Outside,
                _ => Stage(a, contextA, Path.Combine(podLinkedAway, "mount"), ext4), Paths),
            ["stage with .. climbing out of kubelet's tree"] = new(StatusCode.InvalidArgument, "..",
                _ => Stage(a, contextA, kubelet.Pods + "/x/../../../../etc", ext4), Paths),
            ["stage in kubelet's directory but outside pods/ and plugins/kubernetes.io/csi/"] = new(StatusCode.InvalidArgument, Outside,
                _ => Stage(a, contextA, Path.Combine(kubelet.Root, "plugins", DriverName, "globalmount"), ext4), Paths),
            ["publish a filesystem at /etc"] = new(StatusCode.InvalidArgument, Outside,
                _ => Publish(a, contextA, kubelet.Staging("a"), "/etc", ext4), Paths),
            ["publish from a staging path of /etc"] = new(StatusCode.InvalidArgument, Outside,
                _ => Publish(a, contextA, "/etc", freshTarget, ext4), Paths),
            ["publish a block device over /etc/passwd"] = new(StatusCode.InvalidArgument, Outside,
                _ => Publish(c, contextC, kubelet.BlockStaging("c"), "/etc/passwd", block), Paths),
            ["publish a block device over a symlink to a host file"] = new(StatusCode.InvalidArgument, Symlink,
                _ => Publish(c, contextC, kubelet.BlockStaging("c"), blockLinkToPasswd, block), Paths),
            ["publish at /proc/self"] = new(StatusCode.InvalidArgument, Outside,
                _ => Publish(a, contextA, kubelet.Staging("a"), "/proc/self", ext4), Paths),
            ["unpublish /etc"] = new(StatusCode.InvalidArgument, Outside, _ => Unpublish(a, "/etc"), Paths),
            ["unpublish a symlink to a host directory"] = new(StatusCode.InvalidArgument, Symlink, _ => Unpublish(a, linkToEtc), Paths),
            ["unstage /tmp"] = new(StatusCode.InvalidArgument, Outside, _ => Unstage(a, "/tmp"), Paths),
            ["unstage /"] = new(StatusCode.InvalidArgument, Outside, _ => Unstage(a, "/"), Paths),
            ["stats of /proc/self"] = new(StatusCode.NotFound, Outside, _ => Stats(a, "/proc/self"), Paths),
            ["stats of /"] = new(StatusCode.NotFound, Outside, _ => Stats(a, "/"), Paths),
            ["stats through a symlink to a host directory"] = new(StatusCode.NotFound, Symlink, _ => Stats(a, linkToEtc), Paths),
            ["expand /"] = new(StatusCode.NotFound, Outside, _ => Expand(a, "/"), Paths),
            ["expand /etc/passwd as a block volume"] = new(StatusCode.NotFound, Outside, _ => Expand(c, "/etc/passwd", block), Paths),

            ["unpublish A at B's target"] = new(StatusCode.FailedPrecondition, "left mounted",
                _ => Unpublish(a, kubelet.Target("b")), Foreign),
            ["unstage A at B's staging path"] = new(StatusCode.FailedPrecondition, "left mounted",
                _ => Unstage(a, kubelet.Staging("b")), Foreign),
            ["unstage A at B's target (a bind of B)"] = new(StatusCode.FailedPrecondition, "left mounted",
                _ => Unstage(a, kubelet.Target("b")), Foreign),
            ["expand A at B's xfs target"] = new(StatusCode.NotFound, "not volume", _ => Expand(a, kubelet.Target("b")), Foreign),
            ["expand A at B's staging path"] = new(StatusCode.NotFound, "not volume", _ => Expand(a, kubelet.Staging("b")), Foreign),
            ["stats of A at B's target"] = new(StatusCode.NotFound, "not staged or published",
                _ => Stats(a, kubelet.Target("b")), Foreign),
            ["stats of A at B's staging path"] = new(StatusCode.NotFound, "not staged or published",
                _ => Stats(a, kubelet.Staging("b")), Foreign),
            ["unpublish A at a tmpfs in kubelet's tree"] = new(StatusCode.FailedPrecondition, "left mounted",
                _ => Unpublish(a, foreign), Foreign),
            ["unstage A at a tmpfs in kubelet's tree"] = new(StatusCode.FailedPrecondition, "left mounted",
                _ => Unstage(a, foreign), Foreign),
            ["expand A at a tmpfs in kubelet's tree"] = new(StatusCode.NotFound, "not volume", _ => Expand(a, foreign), Foreign),
            ["stats of A at a tmpfs in kubelet's tree"] = new(StatusCode.NotFound, "not staged or published",
                _ => Stats(a, foreign), Foreign),
            ["stats of A at an empty directory it was never published at"] = new(StatusCode.NotFound, "not staged or published",
                _ => Stats(a, neverUsedDir), Foreign),
            ["expand C (block) at an empty file kubelet made"] = new(StatusCode.NotFound, "block volume",
                _ => Expand(c, kubeletMadeFile, block), Foreign),
            ["stage A at B's staging path"] = new(StatusCode.AlreadyExists, "not volume",
                _ => Stage(a, contextA, kubelet.Staging("b"), ext4), Foreign),
            ["publish A at B's target"] = new(StatusCode.AlreadyExists, "not volume",
                _ => Publish(a, contextA, kubelet.Staging("a"), kubelet.Target("b"), ext4), Foreign),
            ["publish A from B's staging path"] = new(StatusCode.FailedPrecondition, "not volume",
                _ => Publish(a, contextA, kubelet.Staging("b"), freshTarget, ext4), Foreign),
            ["unpublish A at an empty directory the driver did not create (left in place)"] = new(StatusCode.OK, "",
                _ => Unpublish(a, kubeletMadeDir), Foreign),
            ["unpublish C at an empty file the driver did not create (left in place)"] = new(StatusCode.OK, "",
                _ => Unpublish(c, kubeletMadeFile), Foreign),

            ["loop"] = new(StatusCode.InvalidArgument, "'loop'", _ => Stage(a, contextA, freshStaging, WithFlags("loop")), Flags),
            ["X-mount.subdir=.."] = new(StatusCode.InvalidArgument, "X-mount.subdir",
                _ => Stage(a, contextA, freshStaging, WithFlags("X-mount.subdir=..")), Flags),
            ["X-mount.mkdir"] = new(StatusCode.InvalidArgument, "X-mount.mkdir",
                _ => Stage(a, contextA, freshStaging, WithFlags("X-mount.mkdir")), Flags),
            ["x-systemd.automount"] = new(StatusCode.InvalidArgument, "x-systemd",
                _ => Stage(a, contextA, freshStaging, WithFlags("x-systemd.automount")), Flags),
            ["bind"] = new(StatusCode.InvalidArgument, "'bind'", _ => Stage(a, contextA, freshStaging, WithFlags("bind")), Flags),
            ["rbind"] = new(StatusCode.InvalidArgument, "'rbind'", _ => Stage(a, contextA, freshStaging, WithFlags("rbind")), Flags),
            ["remount"] = new(StatusCode.InvalidArgument, "'remount'",
                _ => Stage(a, contextA, freshStaging, WithFlags("remount")), Flags),
            ["move"] = new(StatusCode.InvalidArgument, "'move'", _ => Stage(a, contextA, freshStaging, WithFlags("move")), Flags),
            ["offset=1048576"] = new(StatusCode.InvalidArgument, "offset",
                _ => Stage(a, contextA, freshStaging, WithFlags("offset=1048576")), Flags),
            ["sizelimit=1m"] = new(StatusCode.InvalidArgument, "sizelimit",
                _ => Stage(a, contextA, freshStaging, WithFlags("sizelimit=1m")), Flags),
            ["helper=udisks2"] = new(StatusCode.InvalidArgument, "helper",
                _ => Stage(a, contextA, freshStaging, WithFlags("helper=udisks2")), Flags),
            ["shared (propagation)"] = new(StatusCode.InvalidArgument, "'shared'",
                _ => Stage(a, contextA, freshStaging, WithFlags("shared")), Flags),
            ["rprivate (propagation)"] = new(StatusCode.InvalidArgument, "'rprivate'",
                _ => Stage(a, contextA, freshStaging, WithFlags("rprivate")), Flags),
            ["logdev=/dev/loop0"] = new(StatusCode.InvalidArgument, "logdev",
                _ => Stage(b, contextB, freshStaging, VolumeSteps.Mount("xfs", "logdev=/dev/loop0")), Flags),
            ["journal_path=/dev/loop0"] = new(StatusCode.InvalidArgument, "journal_path",
                _ => Stage(a, contextA, freshStaging, WithFlags("journal_path=/dev/loop0")), Flags),
            ["loop hidden in one flag after an allowed option"] = new(StatusCode.InvalidArgument, "'loop'",
                _ => Stage(a, contextA, freshStaging, WithFlags("noatime,loop")), Flags),
            ["an option not on the list"] = new(StatusCode.InvalidArgument, "no-such-option",
                _ => Stage(a, contextA, freshStaging, WithFlags("no-such-option")), Flags),
            ["an allowed option with a value it does not take"] = new(StatusCode.InvalidArgument, "errors=",
                _ => Stage(a, contextA, freshStaging, WithFlags("errors=../../etc")), Flags),
            ["an unbalanced quote"] = new(StatusCode.InvalidArgument, "quote",
                _ => Stage(a, contextA, freshStaging, WithFlags("context=\"system_u,loop")), Flags),
            ["loop on publish"] = new(StatusCode.InvalidArgument, "'loop'",
                _ => Publish(a, contextA, kubelet.Staging("a"), freshTarget, WithFlags("loop")), Flags),

            ["stage (ext4) a volume a pod used raw, data at 100 MiB, edges zero"] = new(StatusCode.FailedPrecondition, "raw block device",
                _ => Stage(c, contextC, kubelet.Staging("c"), ext4), Data),
            ["stage (xfs) the same volume"] = new(StatusCode.FailedPrecondition, "raw block device",
                _ => Stage(c, contextC, kubelet.Staging("c"), xfs), Data),
            ["stage (ext4) a volume another writer put data at 100 MiB on, edges zero"] = new(StatusCode.FailedPrecondition, "without a known signature",
                _ => Stage(d, contextD, kubelet.Staging("d"), ext4), Data),
        };

        var failures = await attacks.MismatchesAsync(node, Snapshot);
        foreach (var (attackClass, count) in attacks.CountByClass())
        {
            output.WriteLine($"{attackClass}: {count} cases, {count - failures.Count(f => attacks[f.Name].Class == attackClass)} as expected");
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Select(f => $"[{attacks[f.Name].Class}] {f.Name}: {f.Problem}")));

        // The volumes the attacks aimed at are intact and their owners can still tear them down.
        Assert.Equal("volume a", await File.ReadAllTextAsync(Path.Combine(kubelet.Target("a"), "a.txt")));
        Assert.Equal("volume b", await File.ReadAllTextAsync(Path.Combine(kubelet.Target("b"), "b.txt")));
        await steps.TearDownAsync(a.VolumeId, kubelet.Staging("a"), kubelet.Target("a"));
        await steps.TearDownAsync(b.VolumeId, kubelet.Staging("b"), kubelet.Target("b"));
        await steps.TearDownAsync(c.VolumeId, null, null);
        await steps.TearDownAsync(d.VolumeId, null, null);
        Assert.False(Directory.Exists(kubelet.Target("a")), "the driver created A's target, so unpublish removes it");
        foreach (var volume in new[] { a, b, c, d })
        {
            await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        }
        Shell.Run("umount", foreign);
        Assert.Empty(TestDirectory.MountPointsBelow(dir.Root + "/"));
    }

    /// <summary>kubelet's layout below its root directory (pkg/volume/csi), for a volume named by a short key.</summary>
    private sealed record KubeletPaths(string Root)
    {
        public string Pods => Path.Combine(Root, "pods");

        private string Csi => Path.Combine(Root, "plugins", "kubernetes.io", "csi");

        public string Staging(string key) => Path.Combine(Csi, DriverName, "hash-" + key, "globalmount");

        public string Target(string key) => Path.Combine(Pods, "pod-" + key, "volumes", "kubernetes.io~csi", "pv-" + key, "mount");

        public string BlockStaging(string key) => Path.Combine(Csi, "volumeDevices", "staging", "pv-" + key);

        public string BlockTarget(string key) => Path.Combine(Csi, "volumeDevices", "publish", "pv-" + key, "pod-" + key);
    }

    /// <summary>
    /// Mounts below the scratch directory and at the attacked system paths (id, device, root, point, type: a mount
    /// taken away and put back shows as a new id), the bytes of watched files and device regions, what watched paths
    /// are, and the size of watched filesystems. Other tests' mounts elsewhere on the machine are not in it.
    /// </summary>
    private static List<string> HostSnapshot(string root, string[] files, string[] paths, string[] devices, string[] filesystems)
    {
        var lines = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            var mountPoint = Mounter.Mounts.MountInfoParser.Unescape(fields[4]);
            if (mountPoint.StartsWith(root + "/", StringComparison.Ordinal) || WatchedSystemPaths.Contains(mountPoint))
            {
                var separator = Array.IndexOf(fields, "-", 6);
                lines.Add($"mount {fields[0]} {fields[2]} {fields[3]} {mountPoint} {fields[separator + 1]}");
            }
        }
        lines.AddRange(files.Select(f => $"file {f} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"));
        lines.AddRange(paths.Select(p => $"path {p} {new FileInfo(p).LinkTarget ?? (Directory.Exists(p) ? "dir" : File.Exists(p) ? "file" : "missing")}"));
        lines.AddRange(devices.Select(d => $"device {d} {Convert.ToHexString(SHA256.HashData(ReadAt(d, DataOffset, 1 << 20)))}"));
        lines.AddRange(filesystems.Select(f => $"filesystem {f} {new DriveInfo(f).TotalSize}"));
        return lines;
    }

    private static string DeviceOf(IDictionary<string, string> publishContext) =>
        new FileInfo(publishContext["devicePath"]).ResolveLinkTarget(returnFinalTarget: true)!.FullName;
}
