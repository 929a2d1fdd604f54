using System.Globalization;

namespace CsiDriver.E2E;

/// <summary>
/// What the suite is pointed at, all from the environment so the same build runs against kind, EKS or the kit's
/// cluster. Only KUBECONFIG is required; the rest describes what the installed driver can do there.
/// </summary>
public sealed record E2ESettings
{
    /// <summary>The kubeconfig file: the cluster where the driver, its sidecars and the CSIDriver object already run.</summary>
    public required string Kubeconfig { get; init; }

    /// <summary>E2E_BACKEND: local or aws; picks the StorageClass example and the default VolumeAttributesClass support.</summary>
    public required string Backend { get; init; }

    /// <summary>E2E_DRIVER_NAME: the provisioner name of the StorageClasses and VolumeSnapshotClass the suite creates.</summary>
    public required string DriverName { get; init; }

    /// <summary>E2E_IMAGE: a busybox-like image (sh, dd, df, sync, md5sum) the nodes have or can pull.</summary>
    public required string Image { get; init; }

    /// <summary>E2E_PODS=0: the node side cannot run this backend's volumes (aws on a machine without EBS):
    /// attach through VolumeAttachments the suite creates, check the controller side only.</summary>
    public required bool Pods { get; init; }

    /// <summary>E2E_ONLINE_EXT4=0: the node plugin cannot grow a mounted ext4 (no CAP_SYS_RESOURCE).</summary>
    public required bool OnlineExt4Growth { get; init; }

    /// <summary>E2E_VAC=0: the cluster does not serve VolumeAttributesClass (1.31-1.33 beta behind its feature gate,
    /// GA in 1.34).</summary>
    public required bool VolumeAttributesClasses { get; init; }

    /// <summary>E2E_GROUP_SNAPSHOTS=0: the cluster has no VolumeGroupSnapshot CRDs, or snapshot-controller and
    /// csi-snapshotter run without group snapshots (v8.2-v8.6: --feature-gates=CSIVolumeGroupSnapshot=true on both).</summary>
    public required bool GroupSnapshots { get; init; }

    /// <summary>E2E_HOST_STATE_DIR: the local backend's --state-dir, when the suite runs on the node itself (the kit):
    /// after each test, no backing file, loop device or mount may remain for its volumes.</summary>
    public string? HostStateDir { get; init; }

    /// <summary>E2E_NODE: the node a WaitForFirstConsumer claim is given when no pod schedules it (E2E_PODS=0).</summary>
    public string? Node { get; init; }

    /// <summary>E2E_VOLUME_GIB: the size of a test's first volume (larger ones are multiples). aws: 10, because the
    /// gp3 StorageClass example asks 4000 IOPS and gp3 allows 500 per GiB; local: 1.</summary>
    public required int VolumeGiB { get; init; }

    /// <summary>E2E_TIMEOUT: seconds any one wait may take (a bound, far above a normal wait).</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>E2E_TIMINGS_FILE: each step's duration is appended here (scripts/e2e.sh prints it at the end).</summary>
    public string? TimingsFile { get; init; }

    /// <summary>The repository root, for deploy/examples (E2E_REPO_ROOT, else found from the test assembly).</summary>
    public required string RepoRoot { get; init; }

    public static E2ESettings FromEnvironment()
    {
        var kubeconfig = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (string.IsNullOrEmpty(kubeconfig))
        {
            throw new InvalidOperationException(
                "KUBECONFIG is not set: the e2e needs a cluster with the driver installed (scripts/e2e.sh starts one)");
        }
        var backend = Get("E2E_BACKEND") ?? "local";
        if (backend is not ("local" or "aws"))
        {
            throw new InvalidOperationException($"E2E_BACKEND={backend}: use local or aws");
        }
        return new E2ESettings
        {
            Kubeconfig = kubeconfig,
            Backend = backend,
            DriverName = Get("E2E_DRIVER_NAME") ?? "block.csi.csidriver.io",
            Image = Get("E2E_IMAGE") ?? "local/busybox:1",
            Pods = Flag("E2E_PODS", true),
            OnlineExt4Growth = Flag("E2E_ONLINE_EXT4", true),
            VolumeAttributesClasses = Flag("E2E_VAC", true),
            GroupSnapshots = Flag("E2E_GROUP_SNAPSHOTS", true),
            HostStateDir = Get("E2E_HOST_STATE_DIR"),
            Node = Get("E2E_NODE"),
            VolumeGiB = int.Parse(Get("E2E_VOLUME_GIB") ?? (backend == "aws" ? "10" : "1"), CultureInfo.InvariantCulture),
            Timeout = TimeSpan.FromSeconds(double.Parse(Get("E2E_TIMEOUT") ?? "180", CultureInfo.InvariantCulture)),
            TimingsFile = Get("E2E_TIMINGS_FILE"),
            RepoRoot = Get("E2E_REPO_ROOT") ?? FindRepoRoot(),
        };
    }

    private static string? Get(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static bool Flag(string name, bool fallback) => Get(name) switch
    {
        null => fallback,
        "1" or "true" => true,
        "0" or "false" => false,
        var v => throw new InvalidOperationException($"{name}={v}: use 1 or 0"),
    };

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CsiDriver.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root not found above the test assembly: set E2E_REPO_ROOT");
    }
}
