using System.Globalization;

namespace CsiDriver.Mounter.Devices;

/// <summary>A device's major:minor number, the key the kernel uses in mountinfo and /sys/dev/block.</summary>
public readonly record struct DeviceNumber(uint Major, uint Minor)
{
    /// <summary>Parses "major:minor" as written in /proc/self/mountinfo.</summary>
    public static DeviceNumber? TryParse(string text)
    {
        var parts = text.Split(':');
        if (parts.Length == 2
            && uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            return new DeviceNumber(major, minor);
        }
        return null;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}:{Minor}");
}
