using System.Runtime.InteropServices;

namespace CsiDriver.Cloud.Local;

internal static class NativeMethods
{
    [DllImport("libc", SetLastError = true)]
#pragma warning disable CA2101, SYSLIB1054 // plain ASCII paths; DllImport keeps the project free of unsafe code
    public static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);
#pragma warning restore CA2101, SYSLIB1054

    [DllImport("libc")]
    public static extern void free(IntPtr pointer);
}
