// The DCT-II that imagehash.phash uses: scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0),
// axis=1), norm=None, on float64.
//
// Why a port and not the textbook formula: pHash compares 64 coefficients against their median.
// On real photos a textbook DCT gives the same bits, but on flat or symmetric pictures (one colour,
// two halves, stripes) many coefficients are "zero" and only differ by rounding noise around
// 1e-13, and that noise decides the bits. To give the identical pHash on every array we compute
// exactly what scipy computes: pocketfft's (scipy/_lib/pocketfft, pocketfft_hdronly.h) T_dcst23
// type-II algorithm on a backward real FFT (FFTPACK radix-2/radix-4 passes), with its twiddle
// factors, operation for operation, in double precision. Only power-of-two lengths are needed
// (phash uses 32), so only the radix-2 and radix-4 passes are ported, and twiddle tables exist
// for lengths 32 and 128 (the DCT of length 32 needs an FFT of 32 and post-twiddles of 4*32).

// cos(m * ang) and sin(m * ang) for ang = 0.25*pi/n and m = 0..n, as glibc's cos/sin return them
// (the values pocketfft's twiddles are built from), interleaved [cos0, sin0, cos1, sin1, ...].
// They are written out instead of calling Math.cos/Math.sin because JavaScript engines do not
// promise correctly rounded results: V8 differs from glibc in the last bit for about one
// argument in twelve here, and with pHash's median threshold a last-bit difference can flip a
// bit of a flat picture's hash. tests/js checks these literals against Python's math.cos/sin.
export const GLIBC_COS_SIN = {
  32: new Float64Array([
    1.0, 0.0, 0.9996988186962042, 0.024541228522912288, 0.9987954562051724, 0.049067674327418015,
    0.9972904566786902, 0.07356456359966743, 0.9951847266721969, 0.0980171403295606,
    0.99247953459871, 0.1224106751992162, 0.989176509964781, 0.14673047445536175,
    0.9852776423889412, 0.17096188876030122, 0.9807852804032304, 0.19509032201612825,
    0.9757021300385286, 0.2191012401568698, 0.970031253194544, 0.24298017990326387,
    0.9637760657954398, 0.26671275747489837, 0.9569403357322088, 0.29028467725446233,
    0.9495281805930367, 0.3136817403988915, 0.9415440651830208, 0.33688985339222005,
    0.932992798834739, 0.3598950365349881, 0.9238795325112867, 0.3826834323650898,
    0.9142097557035307, 0.40524131400498986, 0.9039892931234433, 0.4275550934302821,
    0.8932243011955153, 0.44961132965460654, 0.881921264348355, 0.47139673682599764,
    0.8700869911087115, 0.49289819222978404, 0.8577286100002721, 0.5141027441932217,
    0.8448535652497071, 0.5349976198870972, 0.8314696123025452, 0.5555702330196022,
    0.8175848131515837, 0.5758081914178453, 0.8032075314806449, 0.5956993044924334,
    0.7883464276266063, 0.6152315905806268, 0.773010453362737, 0.6343932841636455,
    0.7572088465064846, 0.6531728429537768, 0.7409511253549591, 0.6715589548470183,
    0.724247082951467, 0.6895405447370668, 0.7071067811865476, 0.7071067811865475,
  ]),
  128: new Float64Array([
    1.0, 0.0, 0.9999811752826011, 0.006135884649154475, 0.9999247018391445, 0.012271538285719925,
    0.9998305817958234, 0.01840672990580482, 0.9996988186962042, 0.024541228522912288,
    0.9995294175010931, 0.030674803176636626, 0.9993223845883495, 0.03680722294135883,
    0.9990777277526454, 0.04293825693494082, 0.9987954562051724, 0.049067674327418015,
    0.9984755805732948, 0.055195244349689934, 0.9981181129001492, 0.06132073630220858,
    0.9977230666441916, 0.06744391956366405, 0.9972904566786902, 0.07356456359966743,
    0.9968202992911657, 0.07968243797143013, 0.996312612182778, 0.0857973123444399,
    0.9957674144676598, 0.09190895649713272, 0.9951847266721969, 0.0980171403295606,
    0.9945645707342554, 0.10412163387205459, 0.9939069700023561, 0.11022220729388306,
    0.9932119492347945, 0.11631863091190475, 0.99247953459871, 0.1224106751992162,
    0.9917097536690995, 0.12849811079379317, 0.99090263542778, 0.13458070850712617,
    0.9900582102622971, 0.1406582393328492, 0.989176509964781, 0.14673047445536175,
    0.9882575677307495, 0.15279718525844344, 0.9873014181578584, 0.15885814333386145,
    0.9863080972445987, 0.16491312048996992, 0.9852776423889412, 0.17096188876030122,
    0.984210092386929, 0.17700422041214875, 0.9831054874312163, 0.18303988795514095,
    0.9819638691095552, 0.1890686641498062, 0.9807852804032304, 0.19509032201612825,
    0.9795697656854405, 0.2011046348420919, 0.9783173707196277, 0.20711137619221856,
    0.9770281426577544, 0.21311031991609136, 0.9757021300385286, 0.2191012401568698,
    0.9743393827855759, 0.22508391135979283, 0.9729399522055602, 0.2310581082806711,
    0.9715038909862518, 0.2370236059943672, 0.970031253194544, 0.24298017990326387,
    0.9685220942744174, 0.24892760574572015, 0.9669764710448521, 0.25486565960451457,
    0.9653944416976894, 0.2607941179152755, 0.9637760657954398, 0.26671275747489837,
    0.9621214042690416, 0.272621355449949, 0.9604305194155658, 0.27851968938505306,
    0.9587034748958716, 0.2844075372112719, 0.9569403357322088, 0.29028467725446233,
    0.9551411683057708, 0.2961508882436238, 0.9533060403541939, 0.3020059493192281,
    0.9514350209690083, 0.30784964004153487, 0.9495281805930367, 0.3136817403988915,
    0.9475855910177411, 0.3195020308160157, 0.9456073253805213, 0.3253102921622629,
    0.9435934581619604, 0.33110630575987643, 0.9415440651830208, 0.33688985339222005,
    0.9394592236021899, 0.3426607173119944, 0.937339011912575, 0.34841868024943456,
    0.9351835099389476, 0.35416352542049034, 0.932992798834739, 0.3598950365349881,
    0.9307669610789837, 0.36561299780477385, 0.9285060804732156, 0.37131719395183754,
    0.9262102421383114, 0.37700741021641826, 0.9238795325112867, 0.3826834323650898,
    0.921514039342042, 0.38834504669882625, 0.9191138516900578, 0.3939920400610481,
    0.9166790599210427, 0.3996241998456468, 0.9142097557035307, 0.40524131400498986,
    0.9117060320054299, 0.4108431710579039, 0.9091679830905224, 0.41642956009763715,
    0.9065957045149153, 0.4220002707997997, 0.9039892931234433, 0.4275550934302821,
    0.901348847046022, 0.43309381885315196, 0.8986744656939538, 0.43861623853852766,
    0.8959662497561852, 0.4441221445704292, 0.8932243011955153, 0.44961132965460654,
    0.8904487232447579, 0.45508358712634384, 0.8876396204028539, 0.46053871095824,
    0.8847970984309378, 0.4659764957679662, 0.881921264348355, 0.47139673682599764,
    0.8790122264286335, 0.4767992300633221, 0.8760700941954066, 0.4821837720791227,
    0.8730949784182901, 0.487550160148436, 0.8700869911087115, 0.49289819222978404,
    0.8670462455156926, 0.49822766697278187, 0.8639728561215868, 0.5035383837257176,
    0.8608669386377673, 0.508830142543107, 0.8577286100002721, 0.5141027441932217,
    0.8545579883654005, 0.5193559901655896, 0.8513551931052652, 0.524589682678469,
    0.8481203448032972, 0.5298036246862946, 0.8448535652497071, 0.5349976198870972,
    0.8415549774368984, 0.5401714727298929, 0.8382247055548381, 0.5453249884220465,
    0.83486287498638, 0.5504579729366048, 0.8314696123025452, 0.5555702330196022,
    0.8280450452577558, 0.560661576197336, 0.8245893027850253, 0.5657318107836131,
    0.8211025149911046, 0.5707807458869673, 0.8175848131515837, 0.5758081914178453,
    0.8140363297059484, 0.5808139580957645, 0.8104571982525948, 0.5857978574564389,
    0.8068475535437993, 0.5907597018588742, 0.8032075314806449, 0.5956993044924334,
    0.799537269107905, 0.600616479383869, 0.7958369046088836, 0.6055110414043255,
    0.7921065773002124, 0.6103828062763095, 0.7883464276266063, 0.6152315905806268,
    0.7845565971555752, 0.6200572117632891, 0.7807372285720945, 0.6248594881423863,
    0.7768884656732324, 0.629638238914927, 0.773010453362737, 0.6343932841636455,
    0.7691033376455797, 0.6391244448637757, 0.765167265622459, 0.6438315428897914,
    0.7612023854842618, 0.6485144010221124, 0.7572088465064846, 0.6531728429537768,
    0.7531867990436125, 0.6578066932970786, 0.7491363945234594, 0.6624157775901718,
    0.7450577854414661, 0.6669999223036375, 0.7409511253549591, 0.6715589548470183,
    0.7368165688773699, 0.6760927035753159, 0.7326542716724128, 0.680600997795453,
    0.7284643904482252, 0.6850836677727004, 0.724247082951467, 0.6895405447370668,
    0.7200025079613817, 0.693971460889654, 0.7157308252838186, 0.6983762494089729,
    0.7114321957452164, 0.7027547444572253, 0.7071067811865476, 0.7071067811865475,
  ]),
};

/** pocketfft sincos_2pibyn: (cos, sin)(2*pi*idx/n), built from two small tables like the C++. */
function sincos2PiByN(n) {
  const cs = GLIBC_COS_SIN[n];
  if (!cs) {
    throw new RangeError(`no twiddle table for length ${n}`);
  }
  // pocketfft calls cos/sin only at integer multiples m*ang with 0 <= m <= n
  // (ang = 0.25*pi/n, which for power-of-two n is exactly Math.PI * 0.25 / n).
  const cos = (m) => cs[2 * m];
  const sin = (m) => cs[2 * m + 1];
  const calc = (xIn) => {
    let x = xIn * 8;
    if (x < 4 * n) {
      if (x < 2 * n) {
        if (x < n) return [cos(x), sin(x)];
        return [sin(2 * n - x), cos(2 * n - x)];
      }
      x -= 2 * n;
      if (x < n) return [-sin(x), cos(x)];
      return [-cos(2 * n - x), sin(2 * n - x)];
    }
    x = 8 * n - x;
    if (x < 2 * n) {
      if (x < n) return [cos(x), -sin(x)];
      return [sin(2 * n - x), -cos(2 * n - x)];
    }
    x -= 2 * n;
    if (x < n) return [-sin(x), -cos(x)];
    return [-cos(2 * n - x), -sin(2 * n - x)];
  };
  const nval = Math.floor((n + 2) / 2);
  let shift = 1;
  while ((1 << shift) * (1 << shift) < nval) shift++;
  const mask = (1 << shift) - 1;
  const v1 = [[1, 0]];
  for (let i = 1; i <= mask; i++) v1.push(calc(i));
  const v2 = [[1, 0]];
  const v2size = Math.floor((nval + mask) / (mask + 1));
  for (let i = 1; i < v2size; i++) v2.push(calc(i * (mask + 1)));
  return (idxIn) => {
    let idx = idxIn;
    let sign = 1;
    if (2 * idx > n) {
      idx = n - idx;
      sign = -1;
    }
    const [ar, ai] = v1[idx & mask];
    const [br, bi] = v2[idx >> shift];
    return [ar * br - ai * bi, sign * (ar * bi + ai * br)];
  };
}

/** FFTPACK radix-2 backward pass (pocketfft rfftp::radb2). */
function radb2(ido, l1, cc, ch, wa) {
  const CC = (a, b, c) => a + ido * (b + 2 * c);
  const CH = (a, b, c) => a + ido * (b + l1 * c);
  const WA = (x, i) => wa[i + x * (ido - 1)];
  for (let k = 0; k < l1; k++) {
    const c0 = cc[CC(0, 0, k)];
    const c1 = cc[CC(ido - 1, 1, k)];
    ch[CH(0, k, 0)] = c0 + c1;
    ch[CH(0, k, 1)] = c0 - c1;
  }
  if ((ido & 1) === 0) {
    for (let k = 0; k < l1; k++) {
      ch[CH(ido - 1, k, 0)] = 2 * cc[CC(ido - 1, 0, k)];
      ch[CH(ido - 1, k, 1)] = -2 * cc[CC(0, 1, k)];
    }
  }
  if (ido <= 2) return;
  for (let k = 0; k < l1; k++) {
    for (let i = 2; i < ido; i += 2) {
      const ic = ido - i;
      const a = cc[CC(i - 1, 0, k)];
      const b = cc[CC(ic - 1, 1, k)];
      ch[CH(i - 1, k, 0)] = a + b;
      const tr2 = a - b;
      const c = cc[CC(i, 0, k)];
      const d = cc[CC(ic, 1, k)];
      const ti2 = c + d;
      ch[CH(i, k, 0)] = c - d;
      // MULPM(CH(i,k,1), CH(i-1,k,1), WA(0,i-2), WA(0,i-1), ti2, tr2)
      const e = WA(0, i - 2);
      const f = WA(0, i - 1);
      ch[CH(i, k, 1)] = e * ti2 + f * tr2;
      ch[CH(i - 1, k, 1)] = e * tr2 - f * ti2;
    }
  }
}

/** FFTPACK radix-4 backward pass (pocketfft rfftp::radb4). */
function radb4(ido, l1, cc, ch, wa) {
  const SQRT2 = 1.4142135623730951; // T0(1.4142...L): the long double literal rounds to this
  const CC = (a, b, c) => a + ido * (b + 4 * c);
  const CH = (a, b, c) => a + ido * (b + l1 * c);
  const WA = (x, i) => wa[i + x * (ido - 1)];
  for (let k = 0; k < l1; k++) {
    const a = cc[CC(0, 0, k)];
    const b = cc[CC(ido - 1, 3, k)];
    const tr2 = a + b;
    const tr1 = a - b;
    const tr3 = 2 * cc[CC(ido - 1, 1, k)];
    const tr4 = 2 * cc[CC(0, 2, k)];
    ch[CH(0, k, 0)] = tr2 + tr3;
    ch[CH(0, k, 2)] = tr2 - tr3;
    ch[CH(0, k, 3)] = tr1 + tr4;
    ch[CH(0, k, 1)] = tr1 - tr4;
  }
  if ((ido & 1) === 0) {
    for (let k = 0; k < l1; k++) {
      const a = cc[CC(0, 3, k)];
      const b = cc[CC(0, 1, k)];
      const ti1 = a + b;
      const ti2 = a - b;
      const c = cc[CC(ido - 1, 0, k)];
      const d = cc[CC(ido - 1, 2, k)];
      const tr2 = c + d;
      const tr1 = c - d;
      ch[CH(ido - 1, k, 0)] = tr2 + tr2;
      ch[CH(ido - 1, k, 1)] = SQRT2 * (tr1 - ti1);
      ch[CH(ido - 1, k, 2)] = ti2 + ti2;
      ch[CH(ido - 1, k, 3)] = -SQRT2 * (tr1 + ti1);
    }
  }
  if (ido <= 2) return;
  for (let k = 0; k < l1; k++) {
    for (let i = 2; i < ido; i += 2) {
      const ic = ido - i;
      let x = cc[CC(i - 1, 0, k)];
      let y = cc[CC(ic - 1, 3, k)];
      const tr2 = x + y;
      const tr1 = x - y;
      x = cc[CC(i, 0, k)];
      y = cc[CC(ic, 3, k)];
      const ti1 = x + y;
      const ti2 = x - y;
      x = cc[CC(i, 2, k)];
      y = cc[CC(ic, 1, k)];
      const tr4 = x + y;
      const ti3 = x - y;
      x = cc[CC(i - 1, 2, k)];
      y = cc[CC(ic - 1, 1, k)];
      const tr3 = x + y;
      const ti4 = x - y;
      ch[CH(i - 1, k, 0)] = tr2 + tr3;
      const cr3 = tr2 - tr3;
      ch[CH(i, k, 0)] = ti2 + ti3;
      const ci3 = ti2 - ti3;
      const cr4 = tr1 + tr4;
      const cr2 = tr1 - tr4;
      const ci2 = ti1 + ti4;
      const ci4 = ti1 - ti4;
      // MULPM(a, b, c, d, e, f): a = c*e + d*f; b = c*f - d*e
      let e = WA(0, i - 2);
      let f = WA(0, i - 1);
      ch[CH(i, k, 1)] = e * ci2 + f * cr2;
      ch[CH(i - 1, k, 1)] = e * cr2 - f * ci2;
      e = WA(1, i - 2);
      f = WA(1, i - 1);
      ch[CH(i, k, 2)] = e * ci3 + f * cr3;
      ch[CH(i - 1, k, 2)] = e * cr3 - f * ci3;
      e = WA(2, i - 2);
      f = WA(2, i - 1);
      ch[CH(i, k, 3)] = e * ci4 + f * cr4;
      ch[CH(i - 1, k, 3)] = e * cr4 - f * ci4;
    }
  }
}

/** pocketfft rfftp plan (factors and twiddles) for a power-of-two length. */
function realFftPlan(length) {
  if (length < 2 || (length & (length - 1)) !== 0) {
    throw new RangeError("only power-of-two lengths are supported");
  }
  // factorize(): 4s first, then a 2 moved to the front of the list.
  const factors = [];
  let len = length;
  while (len % 4 === 0) {
    factors.push(4);
    len /= 4;
  }
  if (len % 2 === 0) {
    len /= 2;
    factors.push(2);
    [factors[0], factors[factors.length - 1]] = [factors[factors.length - 1], factors[0]];
  }
  // comp_twiddle()
  const twid = sincos2PiByN(length);
  const twiddles = [];
  let l1 = 1;
  factors.forEach((ip, k) => {
    const ido = length / (l1 * ip);
    const tw = new Float64Array(Math.max((ip - 1) * (ido - 1), 0));
    if (k < factors.length - 1) {
      for (let j = 1; j < ip; j++) {
        for (let i = 1; i <= Math.floor((ido - 1) / 2); i++) {
          const [re, im] = twid(j * l1 * i);
          tw[(j - 1) * (ido - 1) + 2 * i - 2] = re;
          tw[(j - 1) * (ido - 1) + 2 * i - 1] = im;
        }
      }
    }
    twiddles.push(tw);
    l1 *= ip;
  });
  return { length, factors, twiddles };
}

/** rfftp::exec(c, fct=1, r2hc=false): in-place backward real FFT (halfcomplex to real). */
function realFftBackward(plan, c) {
  let p1 = c;
  let p2 = new Float64Array(plan.length);
  let l1 = 1;
  plan.factors.forEach((ip, k) => {
    const ido = plan.length / (ip * l1);
    if (ip === 4) radb4(ido, l1, p1, p2, plan.twiddles[k]);
    else radb2(ido, l1, p1, p2, plan.twiddles[k]);
    [p1, p2] = [p2, p1];
    l1 *= ip;
  });
  if (p1 !== c) c.set(p1);
}

const dctPlans = new Map();
function dctPlan(n) {
  let plan = dctPlans.get(n);
  if (!plan) {
    const tw = sincos2PiByN(4 * n);
    const twiddle = new Float64Array(n);
    for (let i = 0; i < n; i++) twiddle[i] = tw(i + 1)[0];
    plan = { fft: realFftPlan(n), twiddle };
    dctPlans.set(n, plan);
  }
  return plan;
}

/**
 * Unnormalised DCT-II in place (y[k] = 2 * sum x[j] cos(pi k (2j+1) / 2N)), computed exactly as
 * pocketfft T_dcst23::exec(c, fct=1, ortho=false, type=2, cosine=true) does.
 * @param {Float64Array} c length N (a power of two)
 */
export function dct2InPlace(c) {
  const n = c.length;
  const { fft, twiddle } = dctPlan(n);
  const ns2 = Math.floor((n + 1) / 2);
  c[0] *= 2;
  if ((n & 1) === 0) c[n - 1] *= 2;
  for (let k = 1; k < n - 1; k += 2) {
    // MPINPLACE(c[k+1], c[k])
    const t = c[k + 1];
    c[k + 1] = t - c[k];
    c[k] = t + c[k];
  }
  realFftBackward(fft, c);
  for (let k = 1, kc = n - 1; k < ns2; k++, kc--) {
    const t1 = twiddle[k - 1] * c[kc] + twiddle[kc - 1] * c[k];
    const t2 = twiddle[k - 1] * c[k] - twiddle[kc - 1] * c[kc];
    c[k] = 0.5 * (t1 + t2);
    c[kc] = 0.5 * (t1 - t2);
  }
  if ((n & 1) === 0) c[ns2] *= twiddle[ns2 - 1];
}

/**
 * scipy.fftpack.dct(scipy.fftpack.dct(a, axis=0), axis=1) of a 32x32 array (row-major).
 * @returns {Float64Array} 1024 coefficients, row-major
 */
export function dct2d32(pixels) {
  const a = Float64Array.from(pixels);
  const column = new Float64Array(32);
  for (let c = 0; c < 32; c++) {
    for (let r = 0; r < 32; r++) column[r] = a[r * 32 + c];
    dct2InPlace(column);
    for (let r = 0; r < 32; r++) a[r * 32 + c] = column[r];
  }
  for (let r = 0; r < 32; r++) {
    dct2InPlace(a.subarray(r * 32, r * 32 + 32));
  }
  return a;
}
