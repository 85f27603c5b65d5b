package io.lfmcap.cuda;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every typed launcher in {@link Kernels} against the kernel signatures of kernels.cu (no GPU needed):
 * same parameter count, and each Java type the C type's ({@code T*} and {@code long}: long, {@code int}:
 * int, {@code float}: float). cuLaunchKernel cannot catch a wrong argument list; this can.
 */
class KernelSignaturesTest {
    /** Kernel name -> C parameter types, from the extern "C" entry points (ATTN_ARGS, FLASH_KERNELS and WGMMA_KERNEL expanded). */
    static Map<String, List<String>> signatures() {
        String src = KernelModule.source().replace("\\\n", " ");
        Map<String, String> argMacros = new HashMap<>();  // ATTN_ARGS, GEMV_ARGS: shared parameter lists
        Matcher macro = Pattern.compile("#define (\\w+_ARGS) (.*)").matcher(src);
        while (macro.find()) argMacros.put(macro.group(1), macro.group(2).trim());
        assertTrue(argMacros.containsKey("ATTN_ARGS"));
        String attnArgs = argMacros.get("ATTN_ARGS");
        Map<String, List<String>> out = new HashMap<>();
        Matcher m = Pattern.compile("extern \"C\" __global__ void (?:__launch_bounds__\\([\\d, ]+\\) )?(\\w+)\\(([^)]*)\\)").matcher(src);
        while (m.find()) {
            if (m.group(1).startsWith("__")) continue; // the FLASH_KERNELS macro body (attention_hd##HD) is expanded below
            String params = m.group(2);
            for (String before = null; !params.equals(before); ) {  // a list may name another (GEMV_PICK_ARGS: GEMV_ARGS, ...)
                before = params;
                for (Map.Entry<String, String> e : argMacros.entrySet()) params = params.replace(e.getKey(), e.getValue());
            }
            out.put(m.group(1), types(params));
        }
        Matcher flash = Pattern.compile("^FLASH_KERNELS\\((\\d+)[,)]", Pattern.MULTILINE).matcher(src);
        while (flash.find()) {
            out.put("attention_hd" + flash.group(1), types(attnArgs));
            out.put("attention_paged_hd" + flash.group(1), types(attnArgs));
            out.put("attention_step_hd" + flash.group(1), types(attnArgs));
        }
        Matcher wgmma = Pattern.compile("^WGMMA_KERNEL\\((\\d+)\\)", Pattern.MULTILINE).matcher(src);
        while (wgmma.find()) out.put("attention_wg_hd" + wgmma.group(1), types(attnArgs));
        return out;
    }

    private static List<String> types(String params) {
        List<String> types = new ArrayList<>();
        for (String p : params.split(",")) {
            String t = p.trim();
            if (t.contains("*")) types.add("long");
            else if (t.startsWith("int ")) types.add("int");
            else if (t.startsWith("long ")) types.add("long");
            else if (t.startsWith("float ")) types.add("float");
            else fail("unexpected kernel parameter '" + t + "'");
        }
        return types;
    }

    @Test
    void everyLauncherPassesTheKernelsParametersInOrder() {
        Map<String, List<String>> kernels = signatures();
        assertTrue(kernels.size() >= 25, "parsed " + kernels.keySet());
        TreeSet<String> launched = new TreeSet<>();
        for (Method method : Kernels.class.getDeclaredMethods()) {
            Kernels.Kernel k = method.getAnnotation(Kernels.Kernel.class);
            if (k == null) continue;
            Class<?>[] params = method.getParameterTypes();
            int first = 0;
            assertEquals(GpuContext.class, params[first++], method.getName());
            if (params[first] == boolean.class) first++; // dependent: how it is launched (GpuContext.launchDependent)
            if (params[first] == String.class) first++;
            if (params[first] == Kernels.Grid.class) first++;
            else if (params[first] == int.class) first++; // rows: the launcher makes its grid
            if (method.getName().startsWith("gemv")) assertEquals(int.class, params[first++], method.getName() + "'s dynamic shared bytes");
            List<String> java = new ArrayList<>();
            for (int i = first; i < params.length; i++) java.add(params[i].getName());
            for (String name : k.value()) {
                assertTrue(kernels.containsKey(name), "no kernel " + name + " in kernels.cu");
                assertEquals(kernels.get(name), java, "parameters of " + name + " vs Kernels." + method.getName());
                launched.add(name);
            }
        }
        assertEquals(new TreeSet<>(kernels.keySet()), launched, "every kernel has a launcher");
    }

    /** TextDecoder sizes the small-batch GEMV grids by the column groups that decode.cu's kernels walk. */
    @Test
    void theSmallBatchGemvGroupsAreDecodeCusOnes() {
        String src = KernelModule.source();
        for (int r : new int[] {1, 2, 4, 8}) {
            assertEquals(columns(src, "GEMV_COLS", r), TextDecoder.RmsGemv.STORE.weightRowsPerGroup(r), "GEMV_COLS(" + r + ")");
            assertEquals(columns(src, "GEMV_COLS", r), TextDecoder.RmsGemv.SILU.weightRowsPerGroup(r), "GEMV_COLS(" + r + ")");
            assertEquals(columns(src, "GEMV_COLS", r), TextDecoder.RmsGemv.PICK.weightRowsPerGroup(r), "GEMV_COLS(" + r + ")");
            assertEquals(columns(src, "GEMV_CONV_COLS", r), TextDecoder.RmsGemv.CONV.weightRowsPerGroup(r), "GEMV_CONV_COLS(" + r + ")");
        }
        Matcher narrow = Pattern.compile("#define GEMV_ADD_NARROW_COLS (\\d+)").matcher(src);
        assertTrue(narrow.find(), "GEMV_ADD_NARROW_COLS");
        assertEquals(Integer.parseInt(narrow.group(1)), TextDecoder.ADD_NARROW_COLS, "gemv_add_narrow_r1's weight rows per group");
        Matcher pickBlocks = Pattern.compile("#define GEMV_PICK_BLOCKS (\\d+)").matcher(src);
        assertTrue(pickBlocks.find(), "GEMV_PICK_BLOCKS");
        assertEquals(Integer.parseInt(pickBlocks.group(1)), TextDecoder.PICK_BLOCKS, "gemv_rms_pick_rN's blocks at most");
    }

    /** A rows-per-group macro of decode.cu, {@code N} or {@code ((R) == 1 ? A : B)}, at R = r. */
    private static int columns(String src, String macro, int r) {
        Matcher m = Pattern.compile("#define " + macro + "\\(R\\) (.*)").matcher(src);
        assertTrue(m.find(), macro);
        String body = m.group(1).trim();
        Matcher choice = Pattern.compile("\\(\\(R\\) == 1 \\? (\\d+) : (\\d+)\\)").matcher(body);
        if (choice.matches()) return Integer.parseInt(choice.group(r == 1 ? 1 : 2));
        assertTrue(body.matches("\\d+"), macro + " is " + body);
        return Integer.parseInt(body);
    }

    @Test
    void theFlashHeadDimsAreTheCompiledOnes() {
        Map<String, List<String>> kernels = signatures();
        for (int hd : new int[] {16, 32, 64, 72, 128}) {
            assertTrue(Attention.hasFlashKernel(hd));
            assertTrue(kernels.containsKey("attention_hd" + hd) && kernels.containsKey("attention_paged_hd" + hd)
                    && kernels.containsKey("attention_step_hd" + hd));
        }
        assertFalse(Attention.hasFlashKernel(80));
        assertTrue(kernels.containsKey("attention_wg_hd72"));
    }
}
