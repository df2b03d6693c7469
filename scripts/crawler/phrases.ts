/**
 * The words of the simulated world: what each theme's brand posts and answers, what its fans
 * write, and who the fans are. Mixed Chinese and English with emoji, as on Douyin.
 */

/** What one kind of account posts about, and what is said under and about its works. */
export type Theme = {
  topic: string;
  titles: string[];
  comments: string[];
  brandReplies: string[];
  dmIn: string[];
  dmOut: string[];
};

/** One theme per kind of account; simulated accounts take them in turn. */
export const THEMES: Theme[] = [
  {
    topic: "beauty",
    titles: [
      "秋冬干皮救星｜这瓶面霜我回购了 5 次 #护肤 #好物分享",
      "3 分钟伪素颜妆教程 💄 新手也能学会",
      "新品口红试色：枫叶红 vs 奶茶棕，你选哪支？",
      "Morning skincare routine in 5 steps ✨",
      "敏感肌也能用的防晒大测评 #防晒",
      "直播预告：周五晚 8 点福利专场 🎁",
      "化妆包里的 10 件常驻好物",
      "Night routine for dry skin 🌙",
    ],
    comments: [
      "这个色号黄皮能用吗？",
      "敏感肌可以用吗 🥺",
      "油皮姐妹表示很需要",
      "Does it work for oily skin?",
      "已经用空两瓶了，真的好用 👍",
      "求同款眼影盘！",
      "What shade is this? 😍",
      "主播皮肤也太好了吧 ✨",
    ],
    brandReplies: [
      "谢谢喜欢～ 链接在橱窗哦 💕",
      "亲，敏感肌也可以用的，建议先在耳后试用一下～",
      "Thanks! The link is in our profile 🛍️",
      "黄皮姐妹闭眼入枫叶红 🍁",
      "感谢支持，我们会继续努力的 🙏",
    ],
    dmIn: [
      "你好，请问这款面霜还有货吗？",
      "订单什么时候发货呀？",
      "Hi, do you ship to Hong Kong?",
      "收到了，很喜欢！💕",
      "可以便宜一点吗 🙏",
      "买两瓶送什么赠品？",
      "我的快递好像丢了 😭 单号 SF1234567890",
      "Is this product cruelty-free?",
    ],
    dmOut: [
      "亲，有货的哦～ 现在下单 48 小时内发货 🚚",
      "您好，已为您催促仓库，今天会发出～",
      "Hi! Yes, we ship to HK, about 3–5 days 😊",
      "买二送旅行装小样一份哦 🎁",
      "非常抱歉，我们马上帮您查询物流 🙏",
    ],
  },
  {
    topic: "coffee",
    titles: [
      "在家做一杯丝绒拿铁 ☕ #咖啡教程",
      "新店开业！第二杯半价 🎉",
      "冷萃 vs 手冲，你站哪边？",
      "Latte art fails compilation 😂",
      "秋季限定：桂花燕麦拿铁 🌼",
      "探店｜藏在胡同里的咖啡馆",
      "一分钟看懂意式浓缩",
      "Barista day in the life ☕️",
    ],
    comments: [
      "看饿了 🤤",
      "哪家店？地址求告诉",
      "燕麦奶换成牛奶可以吗",
      "Is it very sweet?",
      "周末就去打卡 📸",
      "拉花好厉害！",
      "Need this right now ☕",
      "桂花味会不会太浓？",
    ],
    brandReplies: [
      "感谢支持！地址在主页哦 ☕",
      "可以的～ 换成牛奶口感更醇厚",
      "Not too sweet, promise 😊",
      "欢迎来店里坐坐，报暗号“抖音”送曲奇 🍪",
      "桂花香很淡很清爽，放心冲～",
    ],
    dmIn: [
      "请问周末营业吗？",
      "可以预定包场吗？大概 20 人",
      "Do you have oat milk?",
      "外卖可以送到公司吗",
      "会员卡怎么办理？",
      "今天的拿铁有点凉了 😢",
      "Can I bring my dog? 🐶",
    ],
    dmOut: [
      "周末 9:00–22:00 正常营业哦",
      "可以的～ 请留下电话，店长联系您",
      "Yes! Oat milk is free of charge 🌾",
      "非常抱歉！下次到店送您一杯，报您的抖音名就好 🙏",
      "会员卡在小程序里就能开通哦",
    ],
  },
];

/** Fans' display names; a fan's index here is also its user id (`u100` + index). */
export const FAN_NAMES = [
  "小明",
  "Lily🌸",
  "阿杰 Jay",
  "奶茶不加糖",
  "Kevin Zhang",
  "🐼熊猫阿宝",
  "Momo",
  "旅行的猫",
  "Sarah Lee",
  "一只小胖橘🍊",
  "夏天的风",
  "Chloe ✨",
  "王大锤",
  "追光的人",
  "Tom",
  "糖糖 Candy",
  "深夜食堂",
  "Vivian Wu",
  "橘子汽水",
  "David Chen",
  "早睡早起",
  "Mia💄",
  "阿宝今天也要加油",
  "Jason",
];

/** What a fan writes under another fan's comment. */
export const FAN_REPLIES = [
  "同问！",
  "+1",
  "我也想知道 🤔",
  "哈哈哈真的",
  "楼上说得对",
  "Same here!",
  "蹲一个回复",
  "真的假的 😮",
];

/** Added to some top-level comments. */
export const EMOJI = ["😍", "😂", "👍", "🔥", "💕", "✨", "🙏", "🥰", "👏", "🤩"];

/** Comments that fit under any work, whatever its theme. */
export const GENERIC_COMMENTS = [
  "好喜欢这个视频 😍",
  "第一！",
  "求链接 🙏",
  "Love this! 💕",
  "多少钱呀？",
  "已关注，期待更新",
  "哈哈哈哈哈笑死我了 😂",
  "这个是真的好用吗？",
  "Where can I buy this?",
  "太好看了吧 ✨",
  "已下单，坐等收货 📦",
  "Great video, thanks for sharing!",
];
