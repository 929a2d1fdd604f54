using System.Globalization;
using System.Text;
using CsiDriver.Mounter.Devices;

namespace CsiDriver.Mounter.Mounts;

/// <summary>
/// Parses /proc/self/mountinfo (proc(5)): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
/// The kernel writes space, tab, newline and backslash in paths as octal escapes (\040, \011, \012, \134).
/// </summary>
public static class MountInfoParser
{
    public static IReadOnlyList<MountEntry> Parse(string text)
    {
        var entries = new List<MountEntry>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length > 0 && TryParseLine(line) is { } entry)
            {
                entries.Add(entry);
            }
        }
        return entries;
    }

    /// <summary>One line, or null when it is malformed (skipped rather than failing every lookup).</summary>
    public static MountEntry? TryParseLine(string line)
    {
        var fields = line.Split(' ');
        if (fields.Length < 10)
        {
            return null;
        }
        // Optional fields (shared:N, master:N, ...) come between the 6th field and the "-" separator.
        var separator = Array.IndexOf(fields, "-", 6);
        if (separator < 0 || fields.Length < separator + 3)
        {
            return null;
        }
        if (!int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var mountId)
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parentId)
            || DeviceNumber.TryParse(fields[2]) is not { } device)
        {
            return null;
        }
        return new MountEntry(
            mountId,
            parentId,
            device,
            Unescape(fields[3]),
            Unescape(fields[4]),
            fields[5].Split(','),
            Unescape(fields[separator + 1]),
            Unescape(fields[separator + 2]),
            separator + 3 < fields.Length ? fields[separator + 3].Split(',') : []);
    }

    /// <summary>Turns every backslash followed by three octal digits into that byte (paths are UTF-8).</summary>
    public static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }
        var bytes = new List<byte>(field.Length);
        var raw = Encoding.UTF8.GetBytes(field);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\' && IsOctal(raw, i + 1) && IsOctal(raw, i + 2) && IsOctal(raw, i + 3))
            {
                bytes.Add((byte)(((raw[i + 1] - '0') << 6) | ((raw[i + 2] - '0') << 3) | (raw[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.Add(raw[i]);
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOctal(byte[] raw, int index) => index < raw.Length && raw[index] >= '0' && raw[index] <= '7';
}
