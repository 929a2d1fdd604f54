using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Attachments;

/// <summary>
/// Hands out device names (/dev/xvdba … /dev/xvdzz) per instance for AttachVolume. A name is never given
/// out while it is in use: neither when EC2 lists it on the instance nor while it is reserved here for an
/// attach in flight or an attachment we made. Reservations are held until the volume is detached, so a
/// Describe answer that is a moment old cannot hand the same name to a concurrent attach. Names are
/// chosen round-robin so a just-freed name (which EC2 may still be releasing) is reused last.
/// </summary>
public sealed class DeviceNameAllocator
{
    private const string Prefix = "/dev/xvd";

    /// <summary>Two-letter suffixes ba … zz: 650 names, far above any instance's attach limit.</summary>
    private static readonly string[] Suffixes =
        [.. Enumerable.Range('b', 25).SelectMany(first => Enumerable.Range('a', 26).Select(second => $"{(char)first}{(char)second}"))];

    private readonly Dictionary<string, InstanceNames> _instances = new(StringComparer.Ordinal);

    public static int Capacity => Suffixes.Length;

    /// <summary>
    /// Reserves a device name for the volume on the instance, avoiding every name in <paramref name="inUse"/>
    /// (as EC2 reports them, /dev/sdX or /dev/xvdX) and every name reserved here. A volume that already holds a
    /// reservation on the instance gets the same name back. No free name → ResourceExhausted.
    /// </summary>
    public string Allocate(string instanceId, string volumeId, IEnumerable<string> inUse)
    {
        var taken = new HashSet<string>(inUse.Select(Suffix).OfType<string>(), StringComparer.Ordinal);
        lock (_instances)
        {
            if (!_instances.TryGetValue(instanceId, out var names))
            {
                names = new InstanceNames();
                _instances[instanceId] = names;
            }
            if (names.ByVolume.TryGetValue(volumeId, out var existing))
            {
                return Prefix + existing;
            }
            var reserved = new HashSet<string>(names.ByVolume.Values, StringComparer.Ordinal);
            for (var i = 0; i < Suffixes.Length; i++)
            {
                var index = (names.Cursor + i) % Suffixes.Length;
                var suffix = Suffixes[index];
                if (!taken.Contains(suffix) && !reserved.Contains(suffix))
                {
                    names.ByVolume[volumeId] = suffix;
                    names.Cursor = (index + 1) % Suffixes.Length;
                    return Prefix + suffix;
                }
            }
        }
        throw StorageException.ResourceExhausted($"instance {instanceId} has no free device name left for volume {volumeId}");
    }

    /// <summary>Records a name EC2 already uses for this volume (an attachment found, not made by this process).</summary>
    public void Adopt(string instanceId, string volumeId, string device)
    {
        if (Suffix(device) is not { } suffix)
        {
            return;
        }
        lock (_instances)
        {
            if (!_instances.TryGetValue(instanceId, out var names))
            {
                names = new InstanceNames();
                _instances[instanceId] = names;
            }
            names.ByVolume[volumeId] = suffix;
        }
    }

    /// <summary>The name reserved for the volume on the instance, or null.</summary>
    public string? Reserved(string instanceId, string volumeId)
    {
        lock (_instances)
        {
            return _instances.TryGetValue(instanceId, out var names) && names.ByVolume.TryGetValue(volumeId, out var suffix)
                ? Prefix + suffix
                : null;
        }
    }

    /// <summary>Frees the volume's name on the instance (after a detach, or when an attach failed).</summary>
    public void Release(string instanceId, string volumeId)
    {
        lock (_instances)
        {
            if (_instances.TryGetValue(instanceId, out var names) && names.ByVolume.Remove(volumeId) && names.ByVolume.Count == 0)
            {
                // Keep the cursor: the instance's next attach still avoids the names freed last.
                names.ByVolume.TrimExcess();
            }
        }
    }

    /// <summary>The two-letter (or one-letter) part after /dev/sd or /dev/xvd; null for other names (/dev/nvme0n1, root).</summary>
    internal static string? Suffix(string device)
    {
        var name = device.StartsWith("/dev/", StringComparison.Ordinal) ? device[5..] : device;
        if (name.StartsWith("xvd", StringComparison.Ordinal))
        {
            return name[3..];
        }
        if (name.StartsWith("sd", StringComparison.Ordinal))
        {
            return name[2..];
        }
        return null;
    }

    private sealed class InstanceNames
    {
        public Dictionary<string, string> ByVolume { get; } = new(StringComparer.Ordinal);
        public int Cursor { get; set; }
    }
}
