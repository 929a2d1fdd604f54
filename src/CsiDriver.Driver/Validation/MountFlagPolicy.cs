using System.Collections.Frozen;
using System.Text.RegularExpressions;
using CsiDriver.Driver.Grpc;

namespace CsiDriver.Driver.Validation;

/// <summary>
/// The mount options a volume capability may carry: an allow-list. Options that change what is mounted (loop,
/// offset, sizelimit, logdev, journal_path), how (bind, rbind, move, remount), where it propagates (shared, slave,
/// private, unbindable) or which helper runs (helper=, X-mount.*, x-*) are refused by name; so is anything not on
/// the list, since mount(8) keeps learning options. Each flag may hold several comma-separated options ("noatime,loop"
/// is two), all checked; a double-quoted value (an SELinux context) may hold commas.
/// </summary>
public static partial class MountFlagPolicy
{
    /// <summary>Options without a value, generic (mount(8)) then ext4(5) then xfs(5).</summary>
    private static readonly FrozenSet<string> Plain = new[]
    {
        "defaults", "ro", "rw", "sync", "async", "dirsync", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime",
        "strictatime", "nostrictatime", "lazytime", "nolazytime", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
        "iversion", "noiversion", "nosymfollow", "discard", "nodiscard",
        "barrier", "nobarrier", "journal_checksum", "nojournal_checksum", "journal_async_commit", "delalloc", "nodelalloc",
        "auto_da_alloc", "noauto_da_alloc", "noinit_itable", "dioread_lock", "dioread_nolock", "user_xattr", "nouser_xattr",
        "acl", "noacl", "grpid", "bsdgroups", "nogrpid", "sysvgroups", "quota", "noquota", "usrquota", "grpquota", "prjquota",
        "nombcache", "inlinecrypt", "dax", "block_validity", "noblock_validity", "i_version", "nouuid", "norecovery",
        "inode32", "inode64", "largeio", "nolargeio", "swalloc", "attr2", "noattr2", "ikeep", "noikeep", "filestreams", "wsync",
        "uquota", "uqnoenforce", "qnoenforce", "gquota", "gqnoenforce", "pquota", "pqnoenforce",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly Regex Number = NumberPattern();
    private static readonly Regex Size = SizePattern();
    private static readonly Regex FileName = FileNamePattern();
    private static readonly Regex SelinuxContext = SelinuxContextPattern();

    /// <summary>Options with a value, and what the value may be.</summary>
    private static readonly FrozenDictionary<string, Func<string, bool>> Valued = new Dictionary<string, Func<string, bool>>(StringComparer.Ordinal)
    {
        ["commit"] = Number.IsMatch,
        ["barrier"] = v => v is "0" or "1",
        ["data"] = v => v is "journal" or "ordered" or "writeback",
        ["data_err"] = v => v is "abort" or "ignore",
        ["errors"] = v => v is "continue" or "remount-ro" or "panic",
        ["init_itable"] = Number.IsMatch,
        ["stripe"] = Number.IsMatch,
        ["max_batch_time"] = Number.IsMatch,
        ["min_batch_time"] = Number.IsMatch,
        ["journal_ioprio"] = Number.IsMatch,
        ["resuid"] = Number.IsMatch,
        ["resgid"] = Number.IsMatch,
        ["dax"] = v => v is "always" or "never" or "inode",
        ["jqfmt"] = v => v is "vfsold" or "vfsv0" or "vfsv1",
        ["usrjquota"] = FileName.IsMatch,
        ["grpjquota"] = FileName.IsMatch,
        ["logbufs"] = Number.IsMatch,
        ["logbsize"] = Size.IsMatch,
        ["allocsize"] = Size.IsMatch,
        ["sunit"] = Number.IsMatch,
        ["swidth"] = Number.IsMatch,
        ["context"] = SelinuxContext.IsMatch,
        ["fscontext"] = SelinuxContext.IsMatch,
        ["defcontext"] = SelinuxContext.IsMatch,
        ["rootcontext"] = SelinuxContext.IsMatch,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Refused by name, with the reason: these change the source, the mount itself or its propagation.</summary>
    private static readonly FrozenDictionary<string, string> Refused = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["loop"] = "it mounts a loop device over a file instead of the volume",
        ["offset"] = "it mounts a different part of the source",
        ["sizelimit"] = "it mounts a different part of the source",
        ["bind"] = "it bind-mounts a path instead of mounting the volume",
        ["rbind"] = "it bind-mounts a path instead of mounting the volume",
        ["move"] = "it moves an existing mount",
        ["remount"] = "it changes an existing mount",
        ["logdev"] = "it puts the filesystem's log on another device",
        ["rtdev"] = "it puts the filesystem's realtime section on another device",
        ["journal_dev"] = "it uses another device as the journal",
        ["journal_path"] = "it uses another device as the journal",
        ["sb"] = "it mounts from a backup superblock",
        ["helper"] = "it runs a mount helper",
        ["owner"] = "it lets a non-root user mount",
        ["user"] = "it lets a non-root user mount",
        ["users"] = "it lets a non-root user mount",
        ["shared"] = "it changes mount propagation",
        ["rshared"] = "it changes mount propagation",
        ["slave"] = "it changes mount propagation",
        ["rslave"] = "it changes mount propagation",
        ["private"] = "it changes mount propagation",
        ["rprivate"] = "it changes mount propagation",
        ["unbindable"] = "it changes mount propagation",
        ["runbindable"] = "it changes mount propagation",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private const int ShownOptionChars = 64;

    /// <summary>The individual options of the flags, every one allowed; INVALID_ARGUMENT naming the first that is not.</summary>
    public static IReadOnlyList<string> Validate(IEnumerable<string> flags, string field)
    {
        var options = new List<string>();
        foreach (var flag in flags)
        {
            foreach (var option in Split(flag, field))
            {
                Check(option, field);
                options.Add(option);
            }
        }
        return options;
    }

    private static void Check(string option, string field)
    {
        var equals = option.IndexOf('=', StringComparison.Ordinal);
        var name = equals < 0 ? option : option[..equals];
        if (Refused.TryGetValue(name, out var reason))
        {
            throw Refuse(field, option, reason);
        }
        if (name.StartsWith("X-", StringComparison.OrdinalIgnoreCase))
        {
            throw Refuse(field, option, "X-mount.* and x-* options make mount(8) create, chown or switch paths");
        }
        var allowed = equals < 0
            ? Plain.Contains(name)
            : Valued.TryGetValue(name, out var valueIsValid) && valueIsValid(option[(equals + 1)..]);
        if (!allowed)
        {
            throw Refuse(field, option, equals < 0 || !Valued.ContainsKey(name)
                ? "it is not on this driver's list of allowed mount options (README: Safety)"
                : "its value is not one this driver accepts");
        }
    }

    /// <summary>Splits on commas outside double quotes; an empty option or an unbalanced quote is refused.</summary>
    private static List<string> Split(string flag, string field)
    {
        var options = new List<string>();
        var start = 0;
        var quoted = false;
        for (var i = 0; i <= flag.Length; i++)
        {
            if (i < flag.Length && flag[i] == '"')
            {
                quoted = !quoted;
            }
            else if (i == flag.Length || (flag[i] == ',' && !quoted))
            {
                var option = flag[start..i];
                if (option.Length == 0 && flag.Length > 0)
                {
                    throw Refuse(field, flag, "it holds an empty option");
                }
                if (option.Length > 0)
                {
                    options.Add(option);
                }
                start = i + 1;
            }
        }
        if (quoted)
        {
            throw Refuse(field, flag, "it has an unbalanced double quote");
        }
        return options;
    }

    private static global::Grpc.Core.RpcException Refuse(string field, string option, string reason)
    {
        var shown = option.Length <= ShownOptionChars ? option : option[..ShownOptionChars] + "…";
        return StatusMapping.Invalid($"{field}: mount option '{shown}' is not allowed: {reason}");
    }

    [GeneratedRegex("^[0-9]{1,10}$")]
    private static partial Regex NumberPattern();

    [GeneratedRegex("^[0-9]{1,10}[kKmMgG]?$")]
    private static partial Regex SizePattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex FileNamePattern();

    // user:role:type:level, optionally quoted; categories (c1,c2) may hold commas only inside quotes.
    [GeneratedRegex("^(\"[A-Za-z0-9_.:,-]{1,255}\"|[A-Za-z0-9_.:-]{1,255})$")]
    private static partial Regex SelinuxContextPattern();
}
