/* Threadline web widget, help-center articles: loaded by threadline.js the first time the server suggests articles
   (after the end user's first message, when no agent is online or the wait is long). One article opens inside the
   widget as its script-free page in a sandboxed frame; "Yes" closes the conversation as self-served, "No" keeps it
   queued and offers the reply by email. Every text is inserted with textContent, never as markup. */
(function () {
  "use strict";
  var base = document.currentScript ? document.currentScript.src.replace(/\/widget\/[^/]*$/, "") : "";

  // w: what threadline.js shares with this script (its API call, element makers, state and email offer).
  window.ThreadlineArticles = function (w, articles) {
    var path = function (tail) { return "/api/v1/conversations/" + encodeURIComponent(w.S.conversation) + tail; };

    function box() {
      if (!w.ui.articles) {
        var style = w.el("link");
        style.rel = "stylesheet";
        style.href = base + "/widget/threadline-articles.css";
        w.ui.root.appendChild(style);
        w.ui.articles = w.el("section", "tl-articles");
        w.ui.articles.setAttribute("aria-labelledby", "tl-articles-title");
        w.ui.panel.insertBefore(w.ui.articles, w.ui.error);
      }
      w.ui.articles.textContent = "";
      w.ui.articles.hidden = false;
      return w.ui.articles;
    }
    function showList() {
      var section = box();
      var heading = w.label("h3", "tl-articles-title", "articles_title");
      heading.id = "tl-articles-title";
      section.appendChild(heading);
      var list = w.el("ul", "tl-article-list");
      articles.forEach(function (article) {
        var item = w.el("li", "tl-article");
        var title = w.el("p", "tl-article-title", article.title);
        title.id = "tl-article-" + article.id;
        item.appendChild(title);
        item.appendChild(w.el("p", "tl-article-snippet", article.snippet));
        var read = w.label("button", "tl-article-read", "article_read");
        read.type = "button";
        read.setAttribute("aria-describedby", title.id);  // "Read", then which article
        read.addEventListener("click", function () { openArticle(article); });
        item.appendChild(read);
        list.appendChild(item);
      });
      section.appendChild(list);
    }
    function openArticle(article) {
      var section = box();
      var back = w.label("button", "tl-article-back", "article_back");
      back.type = "button";
      back.addEventListener("click", showList);
      var frame = w.el("iframe", "tl-article-frame");
      frame.title = article.title;
      // The page needs no script; links in it may still open in a new tab.
      frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
      frame.src = article.url;
      var question = w.el("div", "tl-article-answered");
      question.setAttribute("role", "group");
      question.setAttribute("aria-labelledby", "tl-article-question");
      var asked = w.label("p", "tl-article-question", "article_question");
      asked.id = "tl-article-question";
      var yes = w.label("button", "tl-article-yes", "article_yes");
      var no = w.label("button", "tl-article-no", "article_no");
      yes.type = no.type = "button";
      yes.addEventListener("click", function () { answered(article, yes); });
      no.addEventListener("click", stillNeedsHelp);
      [asked, yes, no].forEach(function (node) { question.appendChild(node); });
      [back, frame, question].forEach(function (node) { section.appendChild(node); });
      back.focus();
      w.api("POST", path("/articles/" + encodeURIComponent(article.id) + "/read"), {})
        .catch(function () { /* only the agents' record of it */ });
    }
    function answered(article, button) {
      button.disabled = true;
      w.api("POST", path("/self-served"), { article_id: article.id }).then(function () {
        var done = w.label("p", "tl-article-solved", "article_solved");
        done.setAttribute("role", "status");
        box().appendChild(done);
        w.ui.offer.hidden = true;  // solved: no reply is coming to send by email
      }).catch(function (failure) {
        button.disabled = false;
        w.showError(failure.message);
      });
    }
    function stillNeedsHelp() {
      var note = w.label("p", "tl-article-waiting", "article_waiting");
      note.setAttribute("role", "status");
      box().appendChild(note);
      w.offerEmail("article");
      // The offer below, or the form the team's message already shows: the address is what brings the reply.
      var input = (!w.ui.offer.hidden && w.ui.offer.querySelector("input")) ||
        w.ui.list.querySelector(".tl-email-form input");
      if (input) input.focus();
    }

    showList();
  };
})();
