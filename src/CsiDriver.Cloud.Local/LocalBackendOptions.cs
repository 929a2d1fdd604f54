namespace CsiDriver.Cloud.Local;

/// <summary>Settings of the local loop-device backend.</summary>
public sealed class LocalBackendOptions
{
    /// <summary>Where volume files, snapshots and metadata live.</summary>
    public string StateDir { get; set; } = "/var/lib/csi-driver";

    /// <summary>The topology zone reported for local volumes and this node.</summary>
    public string Zone { get; set; } = "local";

    /// <summary>Bytes the backend may hand out in total, 0 for no limit (RESOURCE_EXHAUSTED beyond it).</summary>
    public long CapacityBytes { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Path.IsPathRooted(StateDir))
        {
            errors.Add($"--state-dir must be an absolute path, got '{StateDir}'");
        }
        if (string.IsNullOrWhiteSpace(Zone))
        {
            errors.Add("--zone must not be empty");
        }
        if (CapacityBytes < 0)
        {
            errors.Add("--local-capacity must not be negative");
        }
        return errors;
    }
}
